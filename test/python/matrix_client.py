"""The Python cassandra-driver client of the proxy's compatibility matrix (test/integration/matrix/python.test.ts).

    .venv/bin/python test/python/matrix_client.py HOST PORT KEYSPACE TAG PROTOCOL COMPRESSION

PROTOCOL: 0 lets the driver negotiate (it opens with v5 and steps down on a protocol error), else the version
to pin. COMPRESSION: default (the driver's own choice: lz4 when the lz4 package is installed), none, lz4 or
snappy. It runs the matrix scenario (test/integration/matrix/scenario.ts) on KEYSPACE, which the test
prepared, and prints one line "RESULT {json}" on stdout; the driver logs warnings on stderr.
"""
import json
import logging
import sys

from cassandra import DriverException
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement

PAGE_SIZE = 250


def connections(cluster, session):
    """Every open connection of the driver: the control connection and the session's pools."""
    conns = [cluster.control_connection._connection]
    for pool in session._pools.values():
        conns.extend(getattr(pool, '_connections', {}).values())
    return [c for c in conns if c is not None]


def error_of(session, cql):
    try:
        session.execute(cql)
    except DriverException as e:
        return {'error': type(e).__name__, 'message': getattr(e, 'message', str(e))}
    return {'error': None}


def main():
    if len(sys.argv) != 7 or sys.argv[6] not in ('default', 'none', 'lz4', 'snappy'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, ks, tag, protocol, compression = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kwargs = {}
    if protocol:
        kwargs['protocol_version'] = protocol
    if compression == 'none':
        kwargs['compression'] = False
    elif compression in ('lz4', 'snappy'):
        kwargs['compression'] = compression
    out = {'steps': []}
    steps = out['steps']
    cluster = Cluster(contact_points=[host], port=port,
                      auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                      execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
                          load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc='datacenter1')),
                          request_timeout=30)},
                      connect_timeout=10, control_connection_timeout=10, **kwargs)
    code = 0
    try:
        session = cluster.connect()
        steps.append('connected')
        out['protocol_version'] = cluster.protocol_version
        types = sorted({str(c._compression_type) if c.compressor else 'none' for c in connections(cluster, session)})
        out['compression'] = types[0] if len(types) == 1 else ','.join(types)
        if out['compression'] == 'none':
            out['compression'] = None
        out['hosts'] = sorted('%s:%s' % (h.endpoint.address, h.endpoint.port) for h in cluster.metadata.all_hosts())
        out['cluster_name'] = cluster.metadata.cluster_name

        kv = '%s.kv_%s' % (ks, tag)
        session.execute('CREATE TABLE %s (k text PRIMARY KEY, v text)' % kv)
        steps.append('ddl')
        session.execute("INSERT INTO %s (k, v) VALUES ('simple', '%s-simple')" % (kv, tag))
        steps.append('simple write')
        insert = session.prepare('INSERT INTO %s (k, v) VALUES (?, ?)' % kv)
        session.execute(insert, ('prepared', tag + '-prepared'))
        steps.append('prepared write')
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(SimpleStatement("INSERT INTO %s (k, v) VALUES ('batch-simple', '%s-batch-simple')" % (kv, tag)))
        batch.add(insert, ('batch-prepared', tag + '-batch-prepared'))
        session.execute(batch)
        steps.append('batch')
        out['read_simple'] = [r.v for r in session.execute("SELECT v FROM %s.reads WHERE k = 'both'" % ks)]
        steps.append('simple read')
        select = session.prepare('SELECT v FROM %s.reads WHERE k = ?' % ks)
        out['read_prepared'] = [r.v for r in session.execute(select, ('both',))]
        steps.append('prepared read')

        rs = session.execute(SimpleStatement('SELECT k FROM %s.paged' % ks, fetch_size=PAGE_SIZE))
        keys = list(rs.current_rows)
        pages = 1
        while rs.has_more_pages:
            rs.fetch_next_page()
            pages += 1
            keys.extend(rs.current_rows)
        out['paged'] = {'rows': len(keys), 'distinct': len({r.k for r in keys}), 'pages': pages, 'page_size': PAGE_SIZE}
        steps.append('paged read')

        session.execute('USE %s' % ks)
        session.execute("INSERT INTO kv_%s (k, v) VALUES ('use', '%s-use')" % (tag, tag))
        out['read_use'] = [r.v for r in session.execute("SELECT v FROM reads WHERE k = 'both'")]
        steps.append('use')

        out['error_origin_only'] = error_of(session, "INSERT INTO %s.on_origin (k, v) VALUES ('%s', '%s')" % (ks, tag, tag))
        out['error_target_only'] = error_of(session, "INSERT INTO %s.on_target (k, v) VALUES ('%s', '%s')" % (ks, tag, tag))
        steps.append('one-cluster errors')
    except Exception as e:  # reported in the result; the test shows it with stderr
        logging.exception('matrix client failed')
        out['error'] = '%s: %s' % (type(e).__name__, e)
        code = 1
    finally:
        cluster.shutdown()
    print('RESULT ' + json.dumps(out))
    sys.exit(code)


if __name__ == '__main__':
    main()
