package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/service"
)

// The user commands beyond create: list, update and deactivate, on the same
// service methods as the UserService API. The command line names users by
// email; its audit events have the actor "cli".

func newUserList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		Long:  `List every user, deactivated ones included, oldest first.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tEMAIL\tNAME\tROLE\tACTIVE\tCREATED")
			req := &v1.ListUsersRequest{PageSize: 500}
			for {
				page, err := svc.ListUsers(cmd.Context(), req)
				if err != nil {
					return cliError(err)
				}
				for _, u := range page.Users {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%t\t%s\n", u.Id, u.Email, u.Name, u.Role, u.Active, cliTime(u.CreateTime))
				}
				if req.PageToken = page.NextPageToken; req.PageToken == "" {
					return w.Flush()
				}
			}
		},
	}
}

func newUserUpdate() *cobra.Command {
	var name, role string
	var active bool
	cmd := &cobra.Command{
		Use:   "update EMAIL [--name NAME] [--role staff|admin] [--active=true|false]",
		Short: "Change a user's name, role or active flag",
		Long: `Change what the flags given name, and nothing else. A user made inactive
(--active=false) cannot use their tokens until made active again.`,
		Example: `  tickiti user update jane@example.com --role admin
  tickiti user update jane@example.com --active=true`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The update mask is the flags given, so an omitted flag keeps
			// its value.
			var mask []string
			for _, f := range []string{"name", "role", "active"} {
				if cmd.Flags().Changed(f) {
					mask = append(mask, f)
				}
			}
			if len(mask) == 0 {
				return fmt.Errorf("nothing to change: give --name, --role or --active")
			}
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := svc.UserByEmail(cmd.Context(), args[0])
			if err != nil {
				return cliError(err)
			}
			u.Name, u.Role, u.Active = name, role, active
			u, err = svc.UpdateUser(cmd.Context(), nil, u, &fieldmaskpb.FieldMask{Paths: mask})
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated user %d %s: name %q, role %s, active %t\n", u.Id, u.Email, u.Name, u.Role, u.Active)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringVar(&role, "role", "", "new role: "+strings.Join(service.Roles, " or "))
	cmd.Flags().BoolVar(&active, "active", true, "whether the user's tokens work")
	return cmd
}

func newUserDeactivate() *cobra.Command {
	return &cobra.Command{
		Use:   "deactivate EMAIL",
		Short: "Deactivate a user: their tokens get 401 from the next request on",
		Long: `Deactivate a user. What they wrote keeps its author; their tokens stop
working until the user is made active again with
"tickiti user update EMAIL --active=true".`,
		Example: `  tickiti user deactivate jane@example.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := svc.UserByEmail(cmd.Context(), args[0])
			if err != nil {
				return cliError(err)
			}
			if u, err = svc.DeactivateUser(cmd.Context(), nil, u.Id); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deactivated user %d %s\n", u.Id, u.Email)
			return nil
		},
	}
}
