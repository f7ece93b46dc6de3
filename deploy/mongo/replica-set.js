// Run by the mongo service's health check (deploy/compose.yaml).
// Initiates the single-node replica set "rs0" on first start, then exits 0
// only when this node is the writable primary, so w:majority writes work.
const host = (typeof process !== "undefined" && process.env.MONGO_RS_HOST) || "mongo:27017";
try {
  rs.status();
} catch (e) {
  // NotYetInitialized (94) on a fresh data directory.
  if (e.code !== 94 && !/no replset config/i.test(String(e.message))) {
    throw e;
  }
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: host }] });
}
quit(db.hello().isWritablePrimary ? 0 : 1);
