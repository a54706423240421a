// Package kube is how netlab reaches a Kubernetes cluster: the client
// configuration (a kubeconfig, as kubectl reads it) and connections to a
// port of a pod through the API server (port-forward), on which the CLI
// talks to the node agents running in worker pods — no port opened on
// any machine, only what RBAC allows (pods/portforward in the lab's
// namespace).
package kube

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Config loads the client configuration kubectl would use: the file
// kubeconfig names, else $KUBECONFIG, else ~/.kube/config, else the
// in-cluster service account (a controller running in a pod).
func Config(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w (give --kubeconfig FILE or set KUBECONFIG)", err)
	}
	return cfg, nil
}

// Forwarder opens connections to ports of pods through the API server.
// One SPDY connection per pod carries every stream to it; a broken one is
// dialled again on the next use. Safe for concurrent use.
type Forwarder struct {
	cfg    *rest.Config
	client kubernetes.Interface

	mu    sync.Mutex
	conns map[string]*podConn // namespace/pod → its connection
}

type podConn struct {
	uid   string        // the pod's: a pod made again under the name is another
	ready chan struct{} // closed once conn or err is set
	conn  httpstream.Connection
	err   error
	next  int // the next request id; guarded by Forwarder.mu
}

// close closes the connection, once its dial is over.
func (pc *podConn) close() {
	<-pc.ready
	if pc.conn != nil {
		pc.conn.Close()
	}
}

// NewForwarder returns a Forwarder using cfg.
func NewForwarder(cfg *rest.Config) (*Forwarder, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Forwarder{cfg: cfg, client: client, conns: map[string]*podConn{}}, nil
}

// Dial opens a connection to port of pod in namespace. The connection
// has no deadlines (a stream of the API server's does not take them):
// cancel the work through its context and close it.
func (f *Forwarder) Dial(ctx context.Context, namespace, pod string, port int) (net.Conn, error) {
	key := namespace + "/" + pod
	// The pod's UID: a connection to a pod that was deleted and made
	// again under its name reaches nothing (the kubelet keeps it open).
	p, err := f.client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", key, err)
	}
	pc := f.podConn(key, namespace, pod, string(p.UID))
	select {
	case <-pc.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("port-forward to %s: %w", key, ctx.Err())
	}
	if pc.err != nil {
		return nil, pc.err
	}
	f.mu.Lock()
	id := pc.next
	pc.next++
	f.mu.Unlock()

	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(port))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.Itoa(id))
	errStream, err := pc.conn.CreateStream(h)
	if err != nil {
		f.drop(key, pc)
		return nil, fmt.Errorf("port-forward to %s port %d: %w", key, port, err)
	}
	errStream.Close() // nothing to say on it; the server writes errors there
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := pc.conn.CreateStream(h)
	if err != nil {
		f.drop(key, pc)
		return nil, fmt.Errorf("port-forward to %s port %d: %w", key, port, err)
	}
	c := &streamConn{data: data, errs: errStream, conn: pc.conn, local: fwdAddr("netlab"), remote: fwdAddr(fmt.Sprintf("%s:%d", key, port)),
		remoteErr: make(chan error, 1)}
	go c.readErrors()
	return c, nil
}

// podConn returns the connection to the pod of uid called key, and dials
// one when there is none usable: once, by one goroutine, outside the
// lock, so that a slow kubelet delays no dial to another pod.
func (f *Forwarder) podConn(key, namespace, pod, uid string) *podConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pc, ok := f.conns[key]; ok {
		usable := pc.uid == uid
		select {
		case <-pc.ready:
			if pc.err != nil {
				usable = false
			} else {
				select {
				case <-pc.conn.CloseChan():
					usable = false
				default:
				}
			}
		default: // still dialling: wait for it
		}
		if usable {
			return pc
		}
		delete(f.conns, key)
		go pc.close() // to the pod of that name before, or broken
	}
	pc := &podConn{uid: uid, ready: make(chan struct{})}
	f.conns[key] = pc
	go f.dial(pc, key, namespace, pod)
	return pc
}

// dial opens pc's SPDY connection and says it is ready. A dial that fails
// is forgotten: the next Dial tries again.
func (f *Forwarder) dial(pc *podConn, key, namespace, pod string) {
	defer close(pc.ready)
	pc.conn, pc.err = f.dialPod(namespace, pod)
	if pc.err != nil {
		pc.err = fmt.Errorf("port-forward to %s: %w", key, pc.err)
		f.mu.Lock()
		if f.conns[key] == pc {
			delete(f.conns, key)
		}
		f.mu.Unlock()
	}
}

func (f *Forwarder) dialPod(namespace, pod string) (httpstream.Connection, error) {
	rt, upgrader, err := spdy.RoundTripperFor(f.cfg)
	if err != nil {
		return nil, err
	}
	u := f.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	conn, proto, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, err
	}
	if proto != portforward.PortForwardProtocolV1Name {
		conn.Close()
		return nil, fmt.Errorf("the API server speaks port-forward protocol %q, not %q", proto, portforward.PortForwardProtocolV1Name)
	}
	return conn, nil
}

// drop forgets pc (broken) and closes it.
func (f *Forwarder) drop(key string, pc *podConn) {
	f.mu.Lock()
	if f.conns[key] == pc {
		delete(f.conns, key)
	}
	f.mu.Unlock()
	pc.conn.Close()
}

// Close closes every connection to the pods (one still being dialled
// when its dial is over).
func (f *Forwarder) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for key, pc := range f.conns {
		select {
		case <-pc.ready:
			pc.close()
		default:
			go pc.close()
		}
		delete(f.conns, key)
	}
	return nil
}

// streamConn is one forwarded connection: a data stream of a pod's SPDY
// connection, as a net.Conn.
type streamConn struct {
	data, errs    httpstream.Stream
	conn          httpstream.Connection
	local, remote net.Addr
	remoteErr     chan error
	closeOnce     sync.Once
}

// readErrors reads what the kubelet says went wrong with the connection
// (the pod's port refused it, say) and keeps it for Read.
func (c *streamConn) readErrors() {
	msg, err := io.ReadAll(c.errs)
	switch {
	case err != nil:
		c.remoteErr <- nil
	case len(msg) > 0:
		c.remoteErr <- fmt.Errorf("port-forward to %s: %s", c.remote, msg)
	default:
		c.remoteErr <- nil
	}
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if err != nil && n == 0 {
		// The data stream ended: if the kubelet said why (the pod's
		// port refused the connection), that is the error. It says so
		// on the error stream, which ends too.
		select {
		case rerr := <-c.remoteErr:
			c.remoteErr <- rerr
			if rerr != nil {
				return 0, rerr
			}
		case <-time.After(5 * time.Second):
		}
	}
	return n, err
}

func (c *streamConn) Write(p []byte) (int, error) { return c.data.Write(p) }

func (c *streamConn) Close() error {
	c.closeOnce.Do(func() {
		c.data.Close()
		c.conn.RemoveStreams(c.data, c.errs)
		c.data.Reset()
		c.errs.Reset()
	})
	return nil
}

func (c *streamConn) LocalAddr() net.Addr                { return c.local }
func (c *streamConn) RemoteAddr() net.Addr               { return c.remote }
func (c *streamConn) SetDeadline(t time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return nil }

// fwdAddr names an end of a forwarded connection.
type fwdAddr string

func (a fwdAddr) Network() string { return "portforward" }
func (a fwdAddr) String() string  { return string(a) }
