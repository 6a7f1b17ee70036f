package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/metrics"
)

type serveOptions struct {
	renewEvery        time.Duration
	sweepEvery        time.Duration
	addrFile          string
	adminAddrFile     string
	readHeaderTimeout time.Duration
	shutdownTimeout   time.Duration
	accountRate       float64
	maxTokens         int
	init              bool
	// Set by RunE from the config: the proxies trusted to name the client,
	// and the metrics when there is an admin listener (else nil).
	trusted []netip.Prefix
	metrics *metrics.Metrics
}

func newServeCmd(f *Factory) *cobra.Command {
	var o serveOptions
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the licensectl REST API on the local store",
		Long: `Serve the REST API (/v1/...) on the configured store, for CLIs that use
backend: http. Every request needs a bearer token of an account
(` + "`licensectl --account EMAIL accounts token create`" + ` on this host) and sees only that
account's data. SIGINT or SIGTERM stops accepting connections and lets
in-flight requests finish. Logs are JSON lines on stderr, one per request
with its X-Request-ID.

--admin-addr starts a second listener, for operators only: Prometheus
metrics on /metrics and Go profiles on /debug/pprof/. It has no
authentication, so it must be a loopback address unless
--admin-allow-remote is given. Behind a reverse proxy, --trusted-proxies
names the proxies whose X-Forwarded-For (or Forwarded) header says which
client a request is from, for per-address rate limits and logs.`,
		Example: `  licensectl serve --addr 127.0.0.1:8080
  licensectl serve --addr :8443 --tls-cert server.crt --tls-key server.key
  licensectl serve --addr 127.0.0.1:8080 --admin-addr 127.0.0.1:9090 --trusted-proxies 127.0.0.1
  licensectl serve --init --db /data/licensectl.db --addr :8080`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cfg := f.Config()
			if cfg.Backend != "local" {
				return licensing.Errorf(licensing.EINVALID, "serve runs on a local store, not backend %s", cfg.Backend)
			}
			if (cfg.Serve.TLSCert == "") != (cfg.Serve.TLSKey == "") {
				return licensing.Errorf(licensing.EINVALID, "--tls-cert and --tls-key go together")
			}
			// !(x > 0) also refuses NaN.
			if !(cfg.Serve.Rate > 0) || math.IsInf(cfg.Serve.Rate, 0) {
				return licensing.Errorf(licensing.EINVALID, "--rate %v: want a number of requests per second above 0", cfg.Serve.Rate).
					WithHint("below 1 is fine: --rate 0.5 allows one request every 2 seconds per token")
			}
			if o.accountRate < 0 || math.IsNaN(o.accountRate) || math.IsInf(o.accountRate, 0) {
				return licensing.Errorf(licensing.EINVALID, "--account-rate %v: want a number of requests per second above 0 (or 0 for twice --rate)", o.accountRate)
			}
			if o.maxTokens < 1 {
				return licensing.Errorf(licensing.EINVALID, "--max-tokens-per-account %d: want 1 or more", o.maxTokens)
			}
			trusted, err := httpapi.ParseTrustedProxies(cfg.Serve.TrustedProxies)
			if err != nil {
				return licensing.Errorf(licensing.EINVALID, "--trusted-proxies: %v", err)
			}
			o.trusted = trusted
			if cfg.Serve.AdminAddr != "" {
				if err := checkAdminAddr(cfg.Serve.AdminAddr, cfg.Serve.Addr, cfg.Serve.AdminAllowRemote); err != nil {
					return err
				}
				o.metrics = metrics.New(metrics.BuildInfo{Version: f.Build.Version, Commit: f.Build.Commit})
			}
			// A bad certificate or key is found before the store is opened
			// and before anything listens.
			tlsConfig, err := loadTLS(cfg.Serve.TLSCert, cfg.Serve.TLSKey, time.Now())
			if err != nil {
				return err
			}
			var obs app.Observer
			if o.metrics != nil {
				obs = o.metrics
			}
			store, err := openObservedStore(c.Context(), f, o.init, obs)
			if err != nil {
				return err
			}
			defer store.Close()
			if o.init {
				if _, err := store.Seed(c.Context()); err != nil {
					return err
				}
			}
			if o.metrics != nil {
				if err := o.metrics.CountActivations(store.ActiveActivations); err != nil {
					return err
				}
			}
			return serve(c.Context(), f, store, tlsConfig, o)
		},
	}
	fl := c.Flags()
	fl.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fl.String("tls-cert", "", "TLS certificate file (PEM)")
	fl.String("tls-key", "", "TLS private key file (PEM)")
	fl.Float64("rate", 50, "requests per second allowed per token, and per client address without a token (bursts of twice that)")
	fl.Float64Var(&o.accountRate, "account-rate", 0, "requests per second allowed per account, all its tokens together (0: twice --rate)")
	fl.IntVar(&o.maxTokens, "max-tokens-per-account", 50, "live API tokens an account may hold; creating one more over the API is refused")
	fl.StringVar(&o.addrFile, "addr-file", "", "write the address actually listened on to this file")
	fl.BoolVar(&o.init, "init", false, "create the store if it does not exist and seed the catalog, as init does (for containers)")
	fl.String("admin-addr", "", "serve /metrics (Prometheus) and /debug/pprof/ on this separate address (host:port, loopback unless --admin-allow-remote; empty: no admin listener)")
	fl.Bool("admin-allow-remote", false, "let --admin-addr be an address other machines can reach (it has no authentication)")
	fl.StringVar(&o.adminAddrFile, "admin-addr-file", "", "write the admin address actually listened on to this file")
	fl.String("artifacts", "", "directory of build artifacts that licenses download (default: \"artifacts\" beside the store file)")
	fl.String("trusted-proxies", "", "CIDRs or addresses (comma-separated) of reverse proxies whose X-Forwarded-For or Forwarded header names the client (default: none)")
	fl.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 5*time.Second, "time allowed to send request headers")
	fl.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests get to finish on shutdown")
	fl.DurationVar(&o.renewEvery, "renewals-every", time.Hour, "run the renewals engine over every account this often (0: never)")
	fl.DurationVar(&o.sweepEvery, "sweep-every", 30*time.Second, "release expired activation leases this often, so lists and counts are right (0: only when a license is next activated)")
	fl.MarkHidden("read-header-timeout")
	return c
}

func serve(ctx context.Context, f *Factory, store localStore, tlsConfig *tls.Config, o serveOptions) error {
	cfg := f.Config()
	log := slog.New(slog.NewJSONHandler(f.IO.ErrOut, nil))
	mailer, err := f.mailer()
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(httpapi.NewServer(store, httpapi.Options{Logger: log, Rate: cfg.Serve.Rate,
		AccountRate: o.accountRate, MaxTokensPerAccount: o.maxTokens, Mailer: mailer, Clock: f.Clock,
		TrustedProxies: o.trusted, Metrics: o.metrics}),
		log, o.readHeaderTimeout)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	srv.TLSConfig = tlsConfig
	// A store that opens but cannot write (a full disk) still serves reads;
	// the operator is told now, and /readyz answers 503 until it can write.
	if err := store.ProbeWrite(ctx); err != nil {
		log.Warn("the store cannot be written: purchases and changes fail and /readyz answers 503 until it can; free disk space or fix its permissions",
			"store", store.Path(), "error", err.Error())
	}
	var admin *adminServer
	if o.metrics != nil {
		if admin, err = listenAdmin(cfg.Serve.AdminAddr, o.adminAddrFile, o.metrics, log); err != nil {
			return err
		}
		defer admin.close()
	}
	ln, err := net.Listen("tcp", cfg.Serve.Addr)
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "cannot listen on %s: %v", cfg.Serve.Addr, unwrapPathError(err))
	}
	addr := ln.Addr().String()
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, []byte(addr+"\n"), 0o644); err != nil {
			ln.Close()
			return err
		}
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	attrs := []any{"url", scheme + "://" + addr, "store", store.Path()}
	if len(o.trusted) > 0 {
		attrs = append(attrs, "trusted_proxies", fmt.Sprint(o.trusted))
	}
	log.Info("listening", attrs...)
	if o.renewEvery > 0 {
		go store.RunRenewalsEvery(ctx, o.renewEvery, log)
	}
	if o.sweepEvery > 0 {
		go store.SweepLeasesEvery(ctx, o.sweepEvery, log)
	}
	// Webhooks: every replica dispatches; claims keep them from sending one
	// attempt twice at once.
	go store.RunDispatcher(ctx, dispatchOptions(cfg), cfg.Webhooks.Poll, log)
	done := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			done <- srv.ServeTLS(ln, "", "") // the certificate is in srv.TLSConfig
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case err := <-admin.failed():
		srv.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: letting in-flight requests finish")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// checkAdminAddr refuses an admin address that is not HOST:PORT, is the
// public one, or, unless allowRemote, is not loopback: the admin listener has
// no authentication, and its profiles show the server's internals.
func checkAdminAddr(adminAddr, publicAddr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(adminAddr)
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "--admin-addr %s: want HOST:PORT such as 127.0.0.1:9090", adminAddr)
	}
	if adminAddr == publicAddr && port != "0" {
		return licensing.Errorf(licensing.EINVALID, "--admin-addr %s is the --addr: the admin listener is never the public one", adminAddr).
			WithHint("give it a port of its own, such as 127.0.0.1:9090")
	}
	ip, err := netip.ParseAddr(host)
	loopback := host == "localhost" || (err == nil && ip.IsLoopback())
	if !loopback && !allowRemote {
		return licensing.Errorf(licensing.EINVALID, "--admin-addr %s is not a loopback address: /metrics and /debug/pprof/ have no authentication", adminAddr).
			WithHint("listen on 127.0.0.1 or [::1] (a local Prometheus or a sidecar scrapes it), or pass --admin-allow-remote and restrict it with a firewall")
	}
	return nil
}

// adminServer is the admin listener: /metrics and /debug/pprof/.
type adminServer struct {
	srv  *http.Server
	done chan error
}

// listenAdmin starts the admin listener on addr (writing the address it got
// to addrFile, if any).
func listenAdmin(addr, addrFile string, m *metrics.Metrics, log *slog.Logger) (*adminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "cannot listen on --admin-addr %s: %v", addr, unwrapPathError(err))
	}
	got := ln.Addr().String()
	if addrFile != "" {
		if err := writeFileAtomic(addrFile, []byte(got+"\n"), 0o644); err != nil {
			ln.Close()
			return nil, err
		}
	}
	// No write timeout: a CPU profile takes as long as it is asked to.
	a := &adminServer{done: make(chan error, 1), srv: &http.Server{Handler: m.AdminHandler(log),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	go func() { a.done <- a.srv.Serve(ln) }()
	log.Info("admin listening", "url", "http://"+got, "metrics", "http://"+got+"/metrics", "pprof", "http://"+got+"/debug/pprof/")
	return a, nil
}

// failed delivers the error the admin listener stopped with; never for a
// nil server.
func (a *adminServer) failed() <-chan error {
	if a == nil {
		return nil
	}
	return a.done
}

// close stops the admin listener, once the public one has drained (scrapes
// see the shutdown through).
func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.srv.Shutdown(ctx)
}

// loadTLS loads and checks the certificate and key serve answers TLS with
// (none when both are empty): a missing or unreadable file, a key that is
// not the certificate's, or a certificate outside its validity period is a
// usage error at start, before anything listens.
func loadTLS(certFile, keyFile string, now time.Time) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "cannot use TLS certificate %s with key %s: %v", certFile, keyFile, unwrapPathError(err)).
			WithHint("both must be PEM files, the key the certificate's own")
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, licensing.Errorf(licensing.EINVALID, "cannot parse TLS certificate %s: %v", certFile, err)
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, licensing.Errorf(licensing.EINVALID, "TLS certificate %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339)).
			WithHint("renew it; clients refuse an expired certificate")
	case now.Before(leaf.NotBefore):
		return nil, licensing.Errorf(licensing.EINVALID, "TLS certificate %s is not valid before %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// writeFileAtomic writes a file whole or not at all: a reader never sees it
// half-written.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
