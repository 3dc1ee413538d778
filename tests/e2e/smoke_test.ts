import assert from "node:assert/strict";
import { exchange } from "../helpers/raw_client.ts";
import { spawnServer, startTestServer } from "../helpers/server.ts";

Deno.test("server answers GET / with index.html in-process", async () => {
  const server = await startTestServer();
  try {
    const res = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.header("content-type"), "text/html; charset=utf-8");
  } finally {
    await server.stop();
  }
});

Deno.test("spawned server answers and stops on SIGTERM with exit 0", async () => {
  const server = await spawnServer(["0"]);
  const res = await exchange(
    server.port,
    `GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`,
  );
  assert.equal(res.status, 200);
  server.process.kill("SIGTERM");
  const status = await server.status;
  assert.equal(status.code, 0);
});
