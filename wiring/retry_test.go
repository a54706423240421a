package wiring

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRetryTransient(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		errs      []error // returned by successive calls; nil after the list
		wantCalls int
		wantErr   error
	}{
		{name: "success", wantCalls: 1},
		{name: "transient then success", errs: []error{unix.EBUSY, fmt.Errorf("wrapped: %w", unix.ENODEV)}, wantCalls: 3},
		{name: "permanent", errs: []error{unix.EPERM}, wantCalls: 1, wantErr: unix.EPERM},
		{name: "always transient", errs: repeat(unix.EBUSY, 20), wantCalls: retryMaxAttempts, wantErr: unix.EBUSY},
		{name: "cancelled", ctx: cancelled, errs: repeat(unix.EBUSY, 20), wantCalls: 1, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			calls := 0
			err := retryTransient(ctx, func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("retryTransient: %d calls, %v; want %d calls, %v", calls, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
