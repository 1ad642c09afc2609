package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// OperatorConfig is how to run the operator binary (bin/manager) as a child process.
type OperatorConfig struct {
	Binary string
	Args   []string
	Env    []string // added to this process's environment, e.g. KUBECONFIG=...
	// Output receives the operator's standard output and error. The caller may close it
	// once StartOperator has returned: the process has a copy of its own.
	Output *os.File
	// ProbeAddr is the operator's --health-probe-bind-address: StartOperator returns once
	// http://ProbeAddr/readyz answers 200.
	ProbeAddr string
	// ReadyTimeout bounds that wait; 60s when 0.
	ReadyTimeout time.Duration
}

// Operator is a running operator process.
type Operator struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, set before done is closed
}

// startGrace is how long StartOperator gives an operator it gives up on to exit after
// SIGTERM.
const startGrace = 10 * time.Second

// StartOperator starts the operator and waits until it reports ready. If this process
// dies without stopping it (a crash, SIGKILL, the -timeout panic), the kernel kills the
// operator. On an error the operator is not left running.
func StartOperator(ctx context.Context, cfg OperatorConfig) (*Operator, error) {
	cmd := exec.Command(cfg.Binary, cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Stdout, cmd.Stderr = cfg.Output, cfg.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	o := &Operator{cmd: cmd, done: make(chan struct{})}
	// Pdeathsig fires when the thread that started the process ends, not the process: keep
	// that thread, locked to this goroutine, until the operator has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		o.err = cmd.Wait()
		close(o.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.Binary, err)
	}

	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	readyz := "http://" + cfg.ProbeAddr + "/readyz"
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := client.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return o, nil
			}
		}
		select {
		case <-o.done:
			return nil, fmt.Errorf("the operator exited while starting: %v", o.err)
		case <-ctx.Done():
			_ = o.Stop(startGrace)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = o.Stop(startGrace)
			return nil, fmt.Errorf("the operator did not report ready on %s within %v", readyz, timeout)
		}
	}
}

// Pid is the operator's process id.
func (o *Operator) Pid() int { return o.cmd.Process.Pid }

// Exited is closed when the operator has exited.
func (o *Operator) Exited() <-chan struct{} { return o.done }

// Running reports whether the operator has not exited yet.
func (o *Operator) Running() bool {
	select {
	case <-o.done:
		return false
	default:
		return true
	}
}

// ExitErr is how the operator exited (nil for status 0, and while it runs).
func (o *Operator) ExitErr() error {
	select {
	case <-o.done:
		return o.err
	default:
		return nil
	}
}

// Stop stops the operator as the kubelet stops a container: SIGTERM, then SIGKILL if it
// has not exited after grace. It returns an error when the operator had to be killed;
// stopping an operator that has exited does nothing.
func (o *Operator) Stop(grace time.Duration) error {
	if !o.Running() {
		return nil
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.done:
		return nil
	case <-time.After(grace):
		_ = o.cmd.Process.Kill()
		<-o.done
		return fmt.Errorf("the operator did not exit within %v of SIGTERM and was killed", grace)
	}
}

// Kill kills the operator with SIGKILL, as an OOM kill or a node failure would (no
// graceful shutdown, no release of its leader election lease), and waits until it is
// gone.
func (o *Operator) Kill() error {
	if !o.Running() {
		return fmt.Errorf("the operator is not running: %v", o.err)
	}
	if err := o.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-o.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the operator did not die within 10s of SIGKILL")
	}
}
