package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/service"
)

func newUser() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage staff users",
	}
	cmd.AddCommand(newUserCreate(), newUserPassword(), newUserList(), newUserUpdate(), newUserDeactivate())
	return cmd
}

func newUserCreate() *cobra.Command {
	var email, name, role string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create --email EMAIL --name NAME [--role staff|admin]",
		Short: "Create a staff user or an administrator",
		Example: `  tickiti user create --email jane@example.com --name "Jane Doe" --role admin
  printf '%s\n' "$PASSWORD" | tickiti user create --email sam@example.com --name Sam --password-stdin
  tickiti token create --ability tickets:write --user jane@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			var password string
			if passwordStdin {
				// Read and checked before the user exists, so a bad
				// password does not leave a user behind.
				if password, err = readPassword(cmd); err != nil {
					return err
				}
			}
			u, err := svc.CreateUser(cmd.Context(), nil, email, name, role)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %d %s (%s)\n", u.ID, u.Email, u.Role)
			if passwordStdin {
				if err := svc.SetPassword(cmd.Context(), u.Email, password); err != nil {
					return cliError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s can sign in to the staff console\n", u.Email)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "email address, the user's login (stored lowercased)")
	cmd.Flags().StringVar(&name, "name", "", "display name, shown as the author of the user's responses")
	cmd.Flags().StringVar(&role, "role", "staff", "role: "+strings.Join(service.Roles, " or "))
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false,
		"read the console password from the first line of standard input")
	cmd.MarkFlagRequired("email")
	cmd.MarkFlagRequired("name")
	return cmd
}

// cliError spells out a service error for a terminal: its message, then
// one line per field problem. Field names match the flags of the commands
// that call the service.
func cliError(err error) error {
	var ae *apierr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(ae.Fields))
	for k := range ae.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(ae.Message)
	for _, k := range keys {
		for _, msg := range ae.Fields[k] {
			fmt.Fprintf(&b, "\n  --%s: %s", k, msg)
		}
	}
	return errors.New(b.String())
}
