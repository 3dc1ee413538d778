import assert from "node:assert/strict";
import { exchange, get } from "../helpers/raw_client.ts";
import { withServer, withSpawnedServer } from "../helpers/server.ts";

Deno.test("server answers GET / with index.html in-process", async () => {
  await withServer({}, async (server) => {
    const res = await get(server.port, "/");
    assert.equal(res.status, 200);
    assert.equal(res.header("content-type"), "text/html; charset=utf-8");
  });
});

Deno.test("spawned server answers and stops on SIGTERM with exit 0", async () => {
  await withSpawnedServer(["0"], async (server) => {
    const res = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`,
    );
    assert.equal(res.status, 200);
    server.process.kill("SIGTERM");
    const status = await server.status;
    assert.equal(status.code, 0);
  });
});
