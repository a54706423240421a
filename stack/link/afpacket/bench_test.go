package afpacket_test

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/linuxnet/linuxnettest"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
)

// benchWindow bounds the frames in flight, well within the receive buffer
// (4 MiB) and the ring (32 blocks of 128 KiB), so that none is dropped.
const benchWindow = 1024

// cpuTime returns the CPU time (user and system) the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVethFrames measures one-way throughput of 1514-byte frames from
// one endpoint to another over a veth between two namespaces, for each
// receive mode, sending with write (one frame per call) or sendmmsg (batches
// of 64). The sender keeps at most benchWindow frames unreceived. Besides
// frames/s and Gbit/s it reports the CPU time per frame of the whole
// process (sender, receiver, and the kernel's work for both, which on a veth
// runs in the sender's system calls), which depends less on the load of the
// machine, and the mean number of frames per receive batch.
//
// On the 2-vCPU development VM (kernel 6.18), over several runs:
//
//	mode/send          Gbit/s    frames/s    CPU µs/frame  frames/batch
//	recvmmsg/write     3.3-3.7   268k-306k   5.0-6.2       1.5-2.8
//	recvmmsg/sendmmsg  3.1-5.9   260k-487k   3.5-4.6       2-12
//	mmap/write         3.5-4.4   290k-362k   3.0-3.7       73
//	mmap/sendmmsg      4.9-5.6   402k-466k   2.3-2.8       73
//	mmap-v2/write      2.2-3.0   182k-244k   5.2-6.0       3.5-4
//	mmap-v2/sendmmsg   3.0-4.0   249k-328k   4.2-4.6       3-4.5
//
// and BenchmarkVethPingPong: 18-20 µs (recvmmsg), 13 µs (mmap-v2),
// 1.0-2.1 ms (mmap). No allocation in any of them.
func BenchmarkVethFrames(b *testing.B) {
	linuxnettest.RequireRoot(b)
	const size = 1514
	for _, mode := range modes {
		for _, batch := range []int{1, 64} {
			name := string(mode) + "/write"
			if batch > 1 {
				name = string(mode) + "/sendmmsg"
			}
			b.Run(name, func(b *testing.B) {
				_, tx, rx := openPair(b, 1500, afpacket.Options{Mode: mode})
				var got atomic.Int64
				notify := make(chan struct{}, 1)
				rx.Attach(link.DispatcherFunc(func([]byte) {
					got.Add(1)
					select {
					case notify <- struct{}{}:
					default:
					}
				}))
				frame := makeFrame(make([]byte, size), rx.LinkAddress(), tx.LinkAddress(), 'p', 0, size)
				frames := make([][]byte, batch)
				for i := range frames {
					frames[i] = frame
				}
				timer := time.NewTimer(time.Hour)
				wait := func(cond func() bool) {
					for !cond() {
						timer.Reset(5 * time.Second)
						select {
						case <-notify:
						case <-timer.C:
							b.Fatalf("receiver stuck at %d of %d frames; sender %+v; receiver %+v", got.Load(), b.N, tx.Stats(), rx.Stats())
						}
					}
				}
				b.SetBytes(size)
				b.ReportAllocs()
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime(b)
				for sent := 0; sent < b.N; {
					wait(func() bool { return sent-int(got.Load()) < benchWindow })
					k := min(batch, b.N-sent, benchWindow-(sent-int(got.Load())))
					if batch == 1 {
						if err := tx.WritePacket(frame); err != nil {
							b.Fatal(err)
						}
					} else if _, err := tx.WritePackets(frames[:k]); err != nil {
						b.Fatal(err)
					}
					sent += k
				}
				wait(func() bool { return got.Load() == int64(b.N) })
				elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
				b.StopTimer()
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/frame")
				fps := float64(b.N) / elapsed.Seconds()
				b.ReportMetric(fps, "frames/s")
				b.ReportMetric(fps*size*8/1e9, "Gbit/s")
				st := rx.Stats()
				if st.RxKernelDrops != 0 {
					b.Errorf("kernel dropped %d frames", st.RxKernelDrops)
				}
				if st.RxBatches > 0 {
					b.ReportMetric(float64(st.RxFrames)/float64(st.RxBatches), "frames/batch")
				}
			})
		}
	}
}

// BenchmarkVethPingPong measures the round trip of a 60-byte frame that the
// other endpoint sends back from its Dispatcher: the latency a
// request/response exchange sees from the link.
func BenchmarkVethPingPong(b *testing.B) {
	linuxnettest.RequireRoot(b)
	for _, mode := range modes {
		b.Run(string(mode), func(b *testing.B) {
			_, a, echo := openPair(b, 1500, afpacket.Options{Mode: mode})
			back := make(chan struct{}, 1)
			a.Attach(link.DispatcherFunc(func([]byte) {
				select {
				case back <- struct{}{}:
				default: // never block the receive goroutine, or Close would wait
				}
			}))
			reply := make([]byte, 60)
			echo.Attach(link.DispatcherFunc(func(f []byte) {
				copy(reply, f[6:12])
				copy(reply[6:], f[:6])
				copy(reply[12:], f[12:60])
				if err := echo.WritePacket(reply); err != nil {
					panic(fmt.Sprintf("echo: %v", err))
				}
			}))
			frame := makeFrame(make([]byte, 60), echo.LinkAddress(), a.LinkAddress(), 'q', 0, 60)
			w := newWaiter()
			b.ReportAllocs()
			for b.Loop() {
				if err := a.WritePacket(frame); err != nil {
					b.Fatal(err)
				}
				if !w.wait(back) {
					b.Fatalf("no echo in 5 s; stats %+v, echo %+v", a.Stats(), echo.Stats())
				}
			}
		})
	}
}
