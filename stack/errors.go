package stack

import (
	"errors"
	"os"
	"syscall"
)

// Socket errors are syscall.Errno values, so errors.Is(err, syscall.ECONNREFUSED)
// works exactly as it does with the operating system's sockets.
const (
	EBADF         = syscall.EBADF
	EINVAL        = syscall.EINVAL
	EAGAIN        = syscall.EAGAIN
	EINPROGRESS   = syscall.EINPROGRESS
	EALREADY      = syscall.EALREADY
	EISCONN       = syscall.EISCONN
	ENOTCONN      = syscall.ENOTCONN
	ECONNREFUSED  = syscall.ECONNREFUSED
	ECONNRESET    = syscall.ECONNRESET
	ECONNABORTED  = syscall.ECONNABORTED
	ETIMEDOUT     = syscall.ETIMEDOUT
	EADDRINUSE    = syscall.EADDRINUSE
	EADDRNOTAVAIL = syscall.EADDRNOTAVAIL
	EPIPE         = syscall.EPIPE
	EMFILE        = syscall.EMFILE
	EOPNOTSUPP    = syscall.EOPNOTSUPP
	ENETUNREACH   = syscall.ENETUNREACH
	EHOSTUNREACH  = syscall.EHOSTUNREACH
	EMSGSIZE      = syscall.EMSGSIZE
	ENOPROTOOPT   = syscall.ENOPROTOOPT
	EDESTADDRREQ  = syscall.EDESTADDRREQ
)

// ErrDeadline is returned when a deadline set on a socket passes during a
// blocking call. It is os.ErrDeadlineExceeded, as net.Conn users expect.
var ErrDeadline = os.ErrDeadlineExceeded

// OpError describes a failed socket call: which call, on which descriptor, and
// the errno. errors.Is(err, syscall.ECONNRESET) looks through it.
type OpError struct {
	Op  string
	FD  int
	Err error
}

func (e *OpError) Error() string { return e.Op + " fd " + itoa(e.FD) + ": " + e.Err.Error() }

// Unwrap returns the errno.
func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the error is a deadline or ETIMEDOUT, as net.Error.
func (e *OpError) Timeout() bool {
	return errors.Is(e.Err, ErrDeadline) || errors.Is(e.Err, syscall.ETIMEDOUT)
}

func opErr(op string, fd int, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, FD: fd, Err: err}
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
