// The "matrix" mode: the compatibility matrix scenario (test/integration/matrix/scenario.ts) for gocql.
//
//	zdm-gocql [-proto N] HOST:PORT KEYSPACE matrix TAG
//
// -proto 0 (the default) lets gocql negotiate (v5 first); otherwise the version is pinned. gocql refuses USE
// statements (ErrUseStmt), so "a USE" is what gocql does instead: a second session with ClusterConfig.Keyspace,
// on whose connections gocql sends USE itself. Simple statements start with a comment so that gocql sends
// them as plain QUERY messages (it prepares every statement whose first word is SELECT/INSERT/...).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

const matrixPageSize = 250

type matrixError struct {
	Error   *string `json:"error"`
	Message string  `json:"message,omitempty"`
}

type matrixPaged struct {
	Rows     int `json:"rows"`
	Distinct int `json:"distinct"`
	Pages    int `json:"pages"`
	PageSize int `json:"page_size"`
}

type matrixResult struct {
	ProtocolVersion  int64        `json:"protocol_version"`
	Compression      *string      `json:"compression"`
	FrameVersions    []int        `json:"frame_versions"`
	RejectedVersions []int64      `json:"rejected_versions"`
	Steps            []string     `json:"steps"`
	Hosts            []string     `json:"hosts"`
	ClusterName      string       `json:"cluster_name"`
	ReadSimple       []string     `json:"read_simple"`
	ReadPrepared     []string     `json:"read_prepared"`
	ReadUse          []string     `json:"read_use"`
	Paged            *matrixPaged `json:"paged,omitempty"`
	ErrorOriginOnly  *matrixError `json:"error_origin_only,omitempty"`
	ErrorTargetOnly  *matrixError `json:"error_target_only,omitempty"`
	Error            string       `json:"error,omitempty"`
}

func runMatrixMode(hostPort, ks, tag string, proto int, dc string, verbose bool) {
	r := &result{Mode: "matrix", Steps: []string{}, Hosts: []hostOut{}, RejectedVersions: []int64{},
		frameSeen: map[int]bool{}, start: time.Now(), keepLog: verbose}
	m := &matrixResult{Steps: []string{}, Hosts: []string{}, RejectedVersions: []int64{}}
	err := runMatrix(r, m, hostPort, ks, tag, proto, dc)
	if err != nil {
		m.Error = err.Error()
	}
	r.mu.Lock()
	m.FrameVersions = []int{}
	for v := range r.frameSeen {
		m.FrameVersions = append(m.FrameVersions, v)
	}
	sort.Ints(m.FrameVersions)
	m.RejectedVersions = append(m.RejectedVersions, r.RejectedVersions...)
	if proto != 0 {
		m.ProtocolVersion = int64(proto)
	} else {
		m.ProtocolVersion = r.ProtocolVersion
	}
	b, _ := json.Marshal(m)
	r.mu.Unlock()
	fmt.Println("RESULT " + string(b))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func matrixCluster(r *result, hostPort, keyspace string, proto int, dc string) (*gocql.ClusterConfig, error) {
	host, port, err := splitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	cluster := gocql.NewCluster(host)
	cluster.Port = port
	cluster.Keyspace = keyspace
	cluster.ProtoVersion = proto
	cluster.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: "cassandra"}
	cluster.ConnectTimeout = 10 * time.Second
	cluster.Timeout = 30 * time.Second
	cluster.Consistency = gocql.LocalQuorum
	cluster.NumConns = 1
	cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(dc))
	cluster.Logger = logger{r}
	cluster.FrameHeaderObserver = frames{r}
	return cluster, nil
}

func runMatrix(r *result, m *matrixResult, hostPort, ks, tag string, proto int, dc string) error {
	cluster, err := matrixCluster(r, hostPort, "", proto, dc)
	if err != nil {
		return err
	}
	session, err := cluster.CreateSession()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer session.Close()
	m.Steps = append(m.Steps, "connected")
	for _, h := range session.GetHosts() {
		m.Hosts = append(m.Hosts, h.ConnectAddressAndPort())
		m.ClusterName = h.ClusterName()
	}
	sort.Strings(m.Hosts)

	kv := ks + ".kv_" + tag
	var insert = "INSERT INTO " + kv + " (k, v) VALUES (?, ?)"
	steps := []struct {
		name string
		do   func() error
	}{
		{"ddl", func() error {
			return session.Query("CREATE TABLE " + kv + " (k text PRIMARY KEY, v text)").Exec()
		}},
		{"simple write", func() error {
			return session.Query("/* simple */ INSERT INTO " + kv + " (k, v) VALUES ('simple', '" + tag + "-simple')").Exec()
		}},
		{"prepared write", func() error {
			return session.Query(insert, "prepared", tag+"-prepared").Exec()
		}},
		{"batch", func() error {
			b := session.Batch(gocql.LoggedBatch)
			b.Query("INSERT INTO " + kv + " (k, v) VALUES ('batch-simple', '" + tag + "-batch-simple')")
			b.Query(insert, "batch-prepared", tag+"-batch-prepared")
			return b.Exec()
		}},
		{"simple read", func() error {
			var err error
			m.ReadSimple, err = readAll(session.Query("/* simple */ SELECT v FROM " + ks + ".reads WHERE k = 'both'"))
			return err
		}},
		{"prepared read", func() error {
			var err error
			m.ReadPrepared, err = readAll(session.Query("SELECT v FROM "+ks+".reads WHERE k = ?", "both"))
			return err
		}},
		{"paged read", func() error {
			p, err := pagedRead(session, "SELECT k FROM "+ks+".paged")
			m.Paged = p
			return err
		}},
		{"use", func() error {
			// gocql's USE: a session bound to the keyspace (gocql sends USE on each of its connections).
			c, err := matrixCluster(r, hostPort, ks, proto, dc)
			if err != nil {
				return err
			}
			ksSession, err := c.CreateSession()
			if err != nil {
				return fmt.Errorf("connect with keyspace %s: %w", ks, err)
			}
			defer ksSession.Close()
			if err := ksSession.Query("/* use */ INSERT INTO kv_" + tag + " (k, v) VALUES ('use', '" + tag + "-use')").Exec(); err != nil {
				return err
			}
			m.ReadUse, err = readAll(ksSession.Query("/* use */ SELECT v FROM reads WHERE k = 'both'"))
			return err
		}},
		{"one-cluster errors", func() error {
			m.ErrorOriginOnly = errorOf(session.Query("/* error */ INSERT INTO " + ks + ".on_origin (k, v) VALUES ('" + tag + "', '" + tag + "')").Exec())
			m.ErrorTargetOnly = errorOf(session.Query("/* error */ INSERT INTO " + ks + ".on_target (k, v) VALUES ('" + tag + "', '" + tag + "')").Exec())
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		m.Steps = append(m.Steps, s.name)
	}
	return nil
}

// pagedRead reads every row page by page (manual paging: PageState disables gocql's automatic paging).
func pagedRead(session *gocql.Session, cql string) (*matrixPaged, error) {
	p := &matrixPaged{PageSize: matrixPageSize}
	seen := map[int]bool{}
	var state []byte
	for {
		iter := session.Query(cql).PageSize(matrixPageSize).PageState(state).Iter()
		next := iter.PageState()
		var k int
		for iter.Scan(&k) {
			p.Rows++
			seen[k] = true
		}
		if err := iter.Close(); err != nil {
			return p, err
		}
		p.Pages++
		if len(next) == 0 {
			break
		}
		state = next
	}
	p.Distinct = len(seen)
	return p, nil
}

func errorOf(err error) *matrixError {
	if err == nil {
		return &matrixError{}
	}
	name := fmt.Sprintf("%T", err)
	out := &matrixError{Error: &name, Message: err.Error()}
	var re gocql.RequestError
	if errors.As(err, &re) {
		out.Message = re.Message()
	}
	return out
}
