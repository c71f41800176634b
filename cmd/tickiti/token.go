package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server/auth"
)

func newToken() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens",
	}
	cmd.AddCommand(newTokenCreate())
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
			tok, err := svc.CreateToken(cmd.Context(), abilities, description, userEmail)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&abilities, "ability", nil, "ability the token carries; repeat the flag or separate with commas")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&userEmail, "user", "", "email of the user the token acts as (default: the system user)")
	cmd.MarkFlagRequired("ability")
	return cmd
}
