package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server/service"
)

// Console passwords are read from standard input, never from a flag: a
// flag would stay in the shell history and show in the process list.

func newUserPassword() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:     "set-password --email EMAIL --password-stdin",
		Short:   "Set a user's staff console password (signs the user out everywhere)",
		Example: `  read -rs PASSWORD && printf '%s\n' "$PASSWORD" | tickiti user set-password --email jane@example.com --password-stdin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stdin, _ := cmd.Flags().GetBool("password-stdin"); !stdin {
				return errors.New("give the password on standard input with --password-stdin")
			}
			password, err := readPassword(cmd)
			if err != nil {
				return err
			}
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := svc.SetPassword(cmd.Context(), email, password); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password set for %s\n", strings.ToLower(strings.TrimSpace(email)))
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the user's email address")
	cmd.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")
	cmd.MarkFlagRequired("email")
	return cmd
}

// readPassword reads the first line of standard input (without its line
// ending) and checks it against the service's password rules.
func readPassword(cmd *cobra.Command) (string, error) {
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("--password-stdin: no password on standard input")
	}
	password := strings.TrimRight(line, "\r\n")
	if err := service.CheckPassword(password); err != nil {
		return "", cliError(err)
	}
	return password, nil
}
