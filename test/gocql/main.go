// A gocql client for the proxy's integration test (test/integration/gocql/gocql.test.ts).
//
//	go build -o /tmp/zdm-gocql . && /tmp/zdm-gocql 127.0.0.1:14002 my_keyspace all
//
// It connects with PasswordAuthenticator cassandra/cassandra and lets gocql negotiate the protocol
// version itself (no ProtoVersion pinned: gocql starts at v5 and steps down when a node answers with a
// protocol error on stream 0). It prints one line "RESULT {json}" on stdout; logs go to stderr.
//
// Modes (and "matrix", the compatibility matrix scenario: see matrix.go):
//
//	connect: connect, report the negotiated version and the hosts gocql sees, close.
//	all:     connect, then on table <keyspace>.kv (k text PRIMARY KEY, v text), which must exist:
//	         a simple (unprepared) write, a prepared write, a logged batch with a simple and a prepared
//	         child, a simple and a prepared read of k='both', then report as for connect.
//
// gocql prepares every statement whose first word is SELECT/INSERT/UPDATE/DELETE/BATCH (whether or
// not it has bound values); a statement starting with a comment is sent as a plain QUERY. That is how
// the "simple" statements below stay unprepared (and it exercises the proxy's statement inspector on a
// leading comment). Batch children without values are sent as simple children, with values prepared.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

type hostOut struct {
	Address     string `json:"address"`
	HostID      string `json:"host_id"`
	DataCenter  string `json:"data_center"`
	ClusterName string `json:"cluster_name"`
	Tokens      int    `json:"tokens"`
}

type result struct {
	Mode string `json:"mode"`
	// ProtocolVersion is the version gocql's negotiation settled on ("Discovered protocol version.").
	ProtocolVersion int64 `json:"protocol_version"`
	// RejectedVersions are the versions gocql tried first and the proxy refused during negotiation.
	RejectedVersions []int64 `json:"rejected_versions"`
	// FrameVersions are the protocol versions of the response frames gocql read (all connections).
	FrameVersions []int     `json:"frame_versions"`
	Steps         []string  `json:"steps"`
	Read          []string  `json:"read,omitempty"`
	ReadPrepared  []string  `json:"read_prepared,omitempty"`
	Hosts         []hostOut `json:"hosts"`
	Error         string    `json:"error,omitempty"`
	ElapsedMs     int64     `json:"elapsed_ms"`
	Log           []string  `json:"log,omitempty"`

	mu        sync.Mutex
	frameSeen map[int]bool
	start     time.Time
	keepLog   bool
}

// logger implements gocql.StructuredLogger: it records the negotiation outcome and echoes to stderr.
type logger struct{ r *result }

func fieldsText(fields []gocql.LogField) string {
	s := ""
	for _, f := range fields {
		s += fmt.Sprintf(" %s=%v", f.Name, f.Value.Any())
	}
	return s
}

func (l logger) record(level, msg string, fields []gocql.LogField) {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	switch msg {
	case "Discovered protocol version.":
		for _, f := range fields {
			if f.Name == "protocol_version" {
				l.r.ProtocolVersion = f.Value.Int64()
			}
		}
	case "Failed to connect to host during protocol negotiation.":
		for _, f := range fields {
			if f.Name == "proto_version" {
				l.r.RejectedVersions = append(l.r.RejectedVersions, f.Value.Int64())
			}
		}
	}
	line := fmt.Sprintf("%s %s:%s", level, msg, fieldsText(fields))
	if level != "DEBUG" || l.r.keepLog {
		l.r.Log = append(l.r.Log, line)
	}
	fmt.Fprintln(os.Stderr, "gocql", line)
}

func (l logger) Error(msg string, fields ...gocql.LogField)   { l.record("ERROR", msg, fields) }
func (l logger) Warning(msg string, fields ...gocql.LogField) { l.record("WARN", msg, fields) }
func (l logger) Info(msg string, fields ...gocql.LogField)    { l.record("INFO", msg, fields) }
func (l logger) Debug(msg string, fields ...gocql.LogField)   { l.record("DEBUG", msg, fields) }

// frames implements gocql.FrameHeaderObserver.
type frames struct{ r *result }

func (f frames) ObserveFrameHeader(_ context.Context, h gocql.ObservedFrameHeader) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	f.r.frameSeen[int(byte(h.Version)&0x7f)] = true
}

func main() {
	dc := flag.String("dc", "datacenter1", "local data centre for the DC-aware policy")
	verbose := flag.Bool("v", false, "keep gocql's debug lines in the JSON log")
	proto := flag.Int("proto", 0, "matrix mode: protocol version to pin (0: let gocql negotiate)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: zdm-gocql [-dc DC] [-v] HOST:PORT KEYSPACE connect|all\n"+
			"       zdm-gocql [-dc DC] [-v] [-proto N] HOST:PORT KEYSPACE matrix TAG   (see matrix.go)")
	}
	flag.Parse()
	if flag.NArg() == 4 && flag.Arg(2) == "matrix" {
		runMatrixMode(flag.Arg(0), flag.Arg(1), flag.Arg(3), *proto, *dc, *verbose)
		return
	}
	if flag.NArg() != 3 || (flag.Arg(2) != "connect" && flag.Arg(2) != "all") {
		flag.Usage()
		os.Exit(2)
	}
	hostPort, ks, mode := flag.Arg(0), flag.Arg(1), flag.Arg(2)

	r := &result{Mode: mode, Steps: []string{}, Hosts: []hostOut{}, RejectedVersions: []int64{},
		frameSeen: map[int]bool{}, start: time.Now(), keepLog: *verbose}
	err := run(r, hostPort, ks, mode, *dc)
	if err != nil {
		r.Error = err.Error()
	}
	r.mu.Lock()
	r.FrameVersions = []int{}
	for v := range r.frameSeen {
		r.FrameVersions = append(r.FrameVersions, v)
	}
	sort.Ints(r.FrameVersions)
	r.ElapsedMs = time.Since(r.start).Milliseconds()
	b, _ := json.Marshal(r)
	r.mu.Unlock()
	fmt.Println("RESULT " + string(b))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func splitHostPort(hostPort string) (string, int, error) {
	host, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", 0, fmt.Errorf("bad HOST:PORT %q: %w", hostPort, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", 0, fmt.Errorf("bad port in %q: %w", hostPort, err)
	}
	return host, port, nil
}

func run(r *result, hostPort, ks, mode, dc string) error {
	host, port, err := splitHostPort(hostPort)
	if err != nil {
		return err
	}

	cluster := gocql.NewCluster(host)
	cluster.Port = port
	cluster.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: "cassandra"}
	// ProtoVersion deliberately left at 0: gocql negotiates (v5 first, then down).
	cluster.ConnectTimeout = 10 * time.Second
	cluster.Timeout = 20 * time.Second
	cluster.Consistency = gocql.LocalQuorum
	cluster.NumConns = 2
	cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(dc), gocql.ShuffleReplicas())
	cluster.Logger = logger{r}
	cluster.FrameHeaderObserver = frames{r}

	session, err := cluster.CreateSession()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer session.Close()
	r.Steps = append(r.Steps, "connected")

	if mode == "all" {
		table := ks + ".kv"
		steps := []struct {
			name string
			do   func() error
		}{
			{"simple write", func() error {
				return session.Query("/* gocql: simple */ INSERT INTO " + table + " (k, v) VALUES ('go-simple', 'simple-by-gocql')").Exec()
			}},
			{"prepared write", func() error {
				return session.Query("INSERT INTO "+table+" (k, v) VALUES (?, ?)", "go-prepared", "prepared-by-gocql").Exec()
			}},
			{"prepared update", func() error {
				return session.Query("UPDATE "+table+" SET v = ? WHERE k = ?", "updated-by-gocql", "go-update").Exec()
			}},
			{"logged batch", func() error {
				b := session.Batch(gocql.LoggedBatch)
				b.Query("INSERT INTO " + table + " (k, v) VALUES ('go-batch-simple', 'batch-simple-by-gocql')")
				b.Query("INSERT INTO "+table+" (k, v) VALUES (?, ?)", "go-batch-prepared", "batch-prepared-by-gocql")
				b.Query("UPDATE "+table+" SET v = ? WHERE k = ?", "batch-update-by-gocql", "go-batch-update")
				return b.Exec()
			}},
			{"simple read", func() error {
				var err error
				r.Read, err = readAll(session.Query("/* gocql: simple */ SELECT v FROM " + table + " WHERE k = 'both'"))
				return err
			}},
			{"prepared read", func() error {
				var err error
				r.ReadPrepared, err = readAll(session.Query("SELECT v FROM "+table+" WHERE k = ?", "both"))
				return err
			}},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			r.Steps = append(r.Steps, s.name)
		}
	}

	for _, h := range session.GetHosts() {
		r.Hosts = append(r.Hosts, hostOut{
			Address:     h.ConnectAddressAndPort(),
			HostID:      h.HostID(),
			DataCenter:  h.DataCenter(),
			ClusterName: h.ClusterName(),
			Tokens:      len(h.Tokens()),
		})
	}
	sort.Slice(r.Hosts, func(i, j int) bool { return r.Hosts[i].Address < r.Hosts[j].Address })
	return nil
}

func readAll(q *gocql.Query) ([]string, error) {
	out := []string{}
	iter := q.Iter()
	var v string
	for iter.Scan(&v) {
		out = append(out, v)
	}
	return out, iter.Close()
}
