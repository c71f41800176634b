// Package server assembles Tickiti: the database, the service core, the
// gRPC services, the REST gateway and the epilog dispatcher, served until
// the context ends and then shut down gracefully.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/console"
	"github.com/tickiti/tickiti/server/delivery"
	"github.com/tickiti/tickiti/server/epilog"
	"github.com/tickiti/tickiti/server/gateway"
	"github.com/tickiti/tickiti/server/grpcapi"
	"github.com/tickiti/tickiti/server/service"
	"github.com/tickiti/tickiti/server/store"
)

// Config is what `tickiti serve` takes.
type Config struct {
	// DB is the database URL (sqlite:PATH or postgres://...).
	DB string
	// HTTPAddr serves REST; GRPCAddr serves gRPC (":0" picks a port).
	HTTPAddr, GRPCAddr string
	// MaxBody limits REST request bodies (default 1 MiB).
	MaxBody int64
	// IdempotencyTTL is how long idempotency keys are kept (default 24 h).
	IdempotencyTTL time.Duration
	// Delivery tunes the epilog dispatcher.
	Delivery delivery.Options
	// SecureCookies marks the console's session cookie Secure even on plain
	// HTTP requests: set it when a proxy terminates TLS in front of Tickiti.
	// Requests that arrive over TLS get a Secure cookie anyway.
	SecureCookies bool
	// Command is how the operator runs the CLI ("./bin/tickiti"), for the
	// hints the server logs; "tickiti" when empty.
	Command string
	// Version names this build (in the epilog User-Agent).
	Version string
	Logger  *slog.Logger
}

// Server is a running Tickiti.
type Server struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	svc      *service.Service
	grpc     *grpc.Server
	http     *http.Server
	grpcLn   net.Listener
	httpLn   net.Listener
	internal *bufconn.Listener
	conn     *grpc.ClientConn
	dispatch *delivery.Dispatcher
}

// New opens and migrates the database and binds the listeners; Run serves.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.db, err = store.Open(ctx, cfg.DB); err != nil {
		return nil, err
	}
	if err = s.db.Migrate(ctx); err != nil {
		return nil, err
	}
	s.svc = service.New(s.db, service.Options{IdempotencyTTL: cfg.IdempotencyTTL, Logger: s.log})

	unary, stream, err := grpcapi.Interceptors(s.svc, v1.TicketService_ServiceDesc, v1.DeliveryService_ServiceDesc,
		v1.TokenService_ServiceDesc, v1.UserService_ServiceDesc, v1.AuditService_ServiceDesc,
		v1.InterventionService_ServiceDesc, v1.TemplateService_ServiceDesc, v1.QueueService_ServiceDesc)
	if err != nil {
		return nil, err
	}
	// A REST body becomes one gRPC message of about its size; the limit
	// leaves room for the protobuf encoding so that --max-body, not gRPC's
	// 4 MiB default, decides what is too large.
	msgLimit := max(4<<20, 2*int(cmp.Or(cfg.MaxBody, gateway.DefaultMaxBody)))
	s.grpc = grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream),
		grpc.MaxRecvMsgSize(msgLimit))
	v1.RegisterTicketServiceServer(s.grpc, grpcapi.NewTickets(s.svc))
	v1.RegisterDeliveryServiceServer(s.grpc, grpcapi.NewDeliveries(s.svc))
	v1.RegisterInterventionServiceServer(s.grpc, grpcapi.NewInterventions(s.svc))
	v1.RegisterTemplateServiceServer(s.grpc, grpcapi.NewTemplates(s.svc))
	v1.RegisterQueueServiceServer(s.grpc, grpcapi.NewQueues(s.svc))
	identity := grpcapi.NewIdentity(s.svc)
	v1.RegisterTokenServiceServer(s.grpc, identity)
	v1.RegisterUserServiceServer(s.grpc, identity)
	v1.RegisterAuditServiceServer(s.grpc, identity)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, hs)
	reflection.Register(s.grpc)

	// The gateway reaches the gRPC server in memory, so every REST call goes
	// through the same interceptors as a gRPC call without a network hop.
	s.internal = bufconn.Listen(1 << 20)
	s.conn, err = grpc.NewClient("passthrough:///tickiti",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.internal.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(msgLimit), grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, err
	}
	rest, err := gateway.New(ctx, s.conn, cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	staff, err := console.New(s.svc, console.Options{SecureCookies: cfg.SecureCookies, Logger: s.log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", rest)
	// The staff console has every path the API and the probes do not.
	mux.Handle("/", staff)
	// Delivery figures in the Prometheus text format (counts only, nothing
	// secret, so unauthenticated like /healthz).
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { s.dispatch.MetricsHandler().ServeHTTP(w, r) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.SQL.PingContext(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	s.http = &http.Server{
		Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// Without it an idle keep-alive connection is kept for ever.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("gRPC listen: %w", err)
	}
	if s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP listen: %w", err)
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	s.dispatch = delivery.New(s.svc, epilog.NewClient(version), withLogger(cfg.Delivery, s.log))
	return s, nil
}

func withLogger(o delivery.Options, l *slog.Logger) delivery.Options {
	if o.Logger == nil {
		o.Logger = l
	}
	return o
}

// HTTPAddr is the bound REST address.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

// Service is the core the server runs on.
func (s *Server) Service() *service.Service { return s.svc }

// Run serves until ctx ends, then stops taking requests, lets requests and
// epilog attempts in flight finish, and closes the database.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	s.log.Info("tickiti serving", "http", s.HTTPAddr(), "grpc", s.GRPCAddr(), "db", s.db.Dialect)
	s.consoleHint(ctx)
	errc := make(chan error, 3)
	go func() { errc <- s.grpc.Serve(s.grpcLn) }()
	go func() { errc <- s.grpc.Serve(s.internal) }()
	go func() { errc <- s.http.Serve(s.httpLn) }()

	work, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.dispatch.Run(work) })
	wg.Go(func() { s.janitor(work) })

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("tickiti shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if herr := s.http.Shutdown(shutdownCtx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		s.log.Warn("HTTP shutdown", "err", herr)
	}
	// GracefulStop waits for the RPCs in flight; past the deadline the
	// rest are cut off rather than holding the process forever.
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		s.log.Warn("gRPC shutdown: cutting off the calls still running")
		s.grpc.Stop()
		<-stopped
	}
	stopWork()
	wg.Wait()
	return err
}

// consoleHint tells a newcomer where the staff console is and, while no
// one can sign in to it, how to create the first user.
func (s *Server) consoleHint(ctx context.Context) {
	host, port, _ := net.SplitHostPort(s.HTTPAddr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	s.log.Info("staff console at http://" + net.JoinHostPort(host, port) + "/")
	ok, err := s.svc.HasConsoleUser(ctx)
	if err != nil || ok {
		return
	}
	cmd := s.cfg.Command
	if cmd == "" {
		cmd = "tickiti"
	}
	s.log.Warn("no console user yet: create one with: echo 'choose-a-password' | " + cmd +
		" user create --email you@example.com --name You --role admin --password-stdin")
}

// janitor forgets expired idempotency keys and console sessions every hour.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := s.svc.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purge console sessions", "err", err)
		}
		if n, err := s.svc.PurgeExpiredKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purge idempotency keys", "err", err)
		} else if n > 0 {
			s.log.Info("purged idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) close() {
	if s.conn != nil {
		s.conn.Close()
	}
	for _, ln := range []net.Listener{s.grpcLn, s.httpLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if s.db != nil {
		s.db.Close()
	}
}
