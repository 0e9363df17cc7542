// DuckDB baseline: count(DISTINCT resource) over an NDJSON file.
//   node duckdb_count.mjs FILE THREADS
// Prints `duckdb_count=N`, `duckdb_query_seconds=S` and `duckdb_total_seconds=S`
// (the latter includes loading the module and opening the database).
const t0 = performance.now();
const { DuckDBInstance } = await import('@duckdb/node-api');
const [file, threads = '1'] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
await con.run(`SET threads=${Number(threads)}`);
const t1 = performance.now();
const quoted = file.replaceAll("'", "''");
const reader = await con.runAndReadAll(
  `SELECT count(DISTINCT resource) FROM read_json_auto('${quoted}', format='newline_delimited')`);
const t2 = performance.now();
console.log(`duckdb_count=${reader.getRows()[0][0]}`);
console.log(`duckdb_query_seconds=${((t2 - t1) / 1000).toFixed(3)}`);
console.log(`duckdb_total_seconds=${((t2 - t0) / 1000).toFixed(3)}`);
