package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// newRotateSigningSecret is `tickiti intervention rotate-signing-secret`.
func newRotateSigningSecret() *cobra.Command {
	var overlap time.Duration
	cmd := &cobra.Command{
		Use:   "rotate-signing-secret NAME [--overlap 24h]",
		Short: "Give an intervention a new webhook signing secret and print it (shown once)",
		Long: `Give an intervention a new signing secret and print it on stdout, and
nothing else, so it can be captured by a script. It cannot be shown again.

While an intervention has a signing secret, every epilog call carries the
Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature
(see pkg/webhook for a Go verifier). The first rotation gives an intervention
its first secret.

During --overlap the previous secret keeps signing too: each call carries both
signatures, so the remote system can switch to the new secret at its own pace.
--overlap 0 stops the previous secret at once.`,
		Example: `  SECRET=$(tickiti intervention rotate-signing-secret discount_request --overlap 24h)`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			secret, err := svc.RotateSigningSecret(cmd.Context(), nil, args[0], overlap)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	cmd.Flags().DurationVar(&overlap, "overlap", 24*time.Hour, "how long the previous secret keeps signing beside the new one")
	return cmd
}
