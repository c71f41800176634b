package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
)

func newToken() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens",
	}
	cmd.AddCommand(newTokenCreate(), newTokenList(), newTokenRevoke())
	return cmd
}

func newTokenCreate() *cobra.Command {
	var abilities []string
	var description, userEmail string
	cmd := &cobra.Command{
		Use:   "create --ability ABILITY [--ability ...] [--description TEXT] [--user EMAIL]",
		Short: "Create an API token and print it (shown once)",
		Long: `Create an API token and print it on stdout as <id>|<secret>, and nothing
else, so it can be captured by a script. Only a hash of the secret is stored:
the token cannot be shown again.

Without --user the token acts as the built-in system user; with --user it acts
as that (active) user.

Abilities: ` + strings.Join(auth.Known, ", ") + `.
A remote system that creates intervention tickets needs ` + auth.CreateTicket + `.`,
		Example: `  TOKEN=$(tickiti token create --ability create-ticket --description "shop backend")`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			tok, err := svc.CreateToken(cmd.Context(), nil, abilities, description, userEmail)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok.PlainTextToken)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&abilities, "ability", nil, "ability the token carries; repeat the flag or separate with commas")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&userEmail, "user", "", "email of the user the token acts as (default: the system user)")
	cmd.MarkFlagRequired("ability")
	return cmd
}

func newTokenList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never their secrets)",
		Long: `List every API token, revoked ones included, oldest first: id, description,
abilities, the user it acts as ("-" for the system user), when it was
created and last used, and when it was revoked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tDESCRIPTION\tABILITIES\tUSER\tCREATED\tLAST USED\tREVOKED")
			req := &v1.ListTokensRequest{PageSize: 500}
			for {
				page, err := svc.ListTokens(cmd.Context(), req)
				if err != nil {
					return cliError(err)
				}
				for _, t := range page.Tokens {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Id, orDash(t.Description), strings.Join(t.Abilities, ","),
						orDash(t.UserEmail), cliTime(t.CreateTime), cliTime(t.LastUseTime), cliTime(t.RevokeTime))
				}
				if req.PageToken = page.NextPageToken; req.PageToken == "" {
					return w.Flush()
				}
			}
		},
	}
}

func newTokenRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token: callers presenting it get 401 from then on",
		Long: `Revoke an API token, named by its id (the part before "|"). Revoking is
final: create a new token to give access back.`,
		Example: `  tickiti token revoke 12`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("the token id must be a positive number, not %q", args[0])
			}
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := svc.RevokeToken(cmd.Context(), nil, id); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %d\n", id)
			return nil
		},
	}
}

// orDash shows an empty table cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cliTime shows a time in a table: UTC to the second, "-" when unset.
func cliTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}
