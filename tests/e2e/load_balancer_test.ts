/**
 * Two denohttpd instances behind nginx as the load balancer (`upstream` with `keepalive`),
 * sharing one uploads folder, as README "Deploying" describes: pages and downloads through the
 * balancer, 300 concurrent uploads each saved exactly once under a distinct name, the client
 * address in the access log taken from X-Forwarded-For, and one instance stopped gracefully in
 * the middle of a load without a single failed request, the way README "Deploying" says: stop
 * it with --drain (its /healthz answers 503 at once, it goes on serving), mark it `down` in the
 * upstream and reload nginx, and let it finish.
 *
 * nginx comes from Debian (`.ci/run` installs it); elsewhere without it these tests say so
 * loudly and are ignored, and under CI=true they fail.
 */

import assert from "node:assert/strict";
import { get } from "../helpers/raw_client.ts";
import { RESOURCES, type SpawnedServer, spawnServer, tempDir, waitFor } from "../helpers/server.ts";

const SPAWNED = { sanitizeOps: false, sanitizeResources: false };
const NGINX = "/usr/sbin/nginx";
const UPLOADS = 300;

async function nginxAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(NGINX, { args: ["-v"], stdout: "null", stderr: "null" })
      .output();
    if (out.success) return true;
    throw new Error("nginx -v failed");
  } catch {
    const message = `load-balancer tests need nginx (${NGINX}): apt-get install -y nginx`;
    if (Deno.env.get("CI") === "true") throw new Error(message);
    console.error(`\n*** IGNORED: ${message} ***\n`);
    return false;
  }
}

const HAVE_NGINX = await nginxAvailable();

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** nginx in front of `backends` (those in `down` marked so), on `port`, files under `dir`. */
function nginxConfig(dir: string, port: number, backends: number[], down: number[] = []): string {
  const temp = (name: string) => `${name}_temp_path ${dir}/${name}`;
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join(";\n  ")};
  upstream denohttpd {
${
    backends.map((p) =>
      `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s${down.includes(p) ? " down" : ""};`
    ).join("\n")
  }
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 16k;
    location / {
      proxy_pass http://denohttpd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # A stopping instance refuses new connections and answers queued requests 503: try the
      # other one, also for uploads (an upload answered 503 was never stored).
      proxy_next_upstream error timeout http_503 non_idempotent;
      proxy_next_upstream_tries 2;
    }
  }
}
`;
}

interface Cluster {
  port: number;
  /** Marks the instance on `backend` down and reloads nginx (`nginx -s reload`). */
  markDown(backend: number): Promise<void>;
  instances: SpawnedServer[];
  uploads: string;
  nginxLog: () => Promise<string>;
  close(): Promise<void>;
}

/** Two instances serving a copy of resources/ with one shared uploads folder, behind nginx. */
async function startCluster(dir: string): Promise<Cluster> {
  const root = `${dir}/root`;
  const uploads = `${dir}/uploads`;
  await Deno.mkdir(root);
  await Deno.mkdir(uploads);
  await Deno.mkdir(`${dir}/nginx`);
  for await (const entry of Deno.readDir(RESOURCES)) {
    if (entry.isFile) await Deno.copyFile(`${RESOURCES}/${entry.name}`, `${root}/${entry.name}`);
  }
  const port = freePort();
  const relative = (path: string) => path.slice(path.indexOf("tests/.tmp"));
  const instances: SpawnedServer[] = [];
  const args = [
    "0",
    "--uploads",
    uploads,
    "--upload-rate",
    "0",
    "--allow-host",
    `127.0.0.1:${port}`,
    "--trust-proxy",
    "127.0.0.1/32",
    "--drain",
    "2",
    "--log-format",
    "json",
  ];
  const permissions = [
    "--allow-net",
    `--allow-read=${relative(root)},${relative(uploads)}`,
    `--allow-write=${relative(uploads)}`,
    "--allow-sys=statfs",
  ];
  for (let i = 0; i < 2; i++) {
    instances.push(await spawnServer(args, { root: relative(root), permissions }));
  }
  const conf = `${dir}/nginx/nginx.conf`;
  await Deno.writeTextFile(conf, nginxConfig(`${dir}/nginx`, port, instances.map((s) => s.port)));
  const nginx = new Deno.Command(NGINX, {
    args: ["-p", `${dir}/nginx`, "-e", `${dir}/nginx/error.log`, "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await waitFor(async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, { what: "nginx to listen", timeoutMs: 10_000 });
  const backends = instances.map((s) => s.port);
  return {
    port,
    async markDown(backend: number) {
      await Deno.writeTextFile(conf, nginxConfig(`${dir}/nginx`, port, backends, [backend]));
      const reload = await new Deno.Command(NGINX, {
        args: ["-p", `${dir}/nginx`, "-e", `${dir}/nginx/error.log`, "-c", conf, "-s", "reload"],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(reload.success, new TextDecoder().decode(reload.stderr));
    },
    instances,
    uploads,
    nginxLog: () => Deno.readTextFile(`${dir}/nginx/error.log`).catch(() => ""),
    async close() {
      try {
        nginx.kill("SIGTERM");
      } catch {
        // exited
      }
      await nginx.output();
      for (const instance of instances) {
        try {
          instance.process.kill("SIGKILL");
        } catch {
          // exited
        }
        await instance.status;
      }
    },
  };
}

async function upload(port: number, body: string): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}/upload`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
}

Deno.test({
  name: "behind nginx: pages, downloads and 300 concurrent uploads, each saved exactly once",
  ignore: !HAVE_NGINX,
  ...SPAWNED,
  async fn() {
    await using dir = await tempDir();
    const cluster = await startCluster(dir.path);
    try {
      const base = `http://127.0.0.1:${cluster.port}`;
      const page = await Deno.readFile(`${RESOURCES}/index.html`);
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${base}/index.html`);
        assert.equal(res.status, 200);
        assert.deepEqual(new Uint8Array(await res.arrayBuffer()), page);
      }
      const gallery = await Deno.readFile(`${RESOURCES}/gallery.jpg`);
      const download = await fetch(`${base}/gallery.jpg`);
      assert.equal(download.status, 200);
      assert.deepEqual(new Uint8Array(await download.arrayBuffer()), gallery);

      const bodies = Array.from({ length: UPLOADS }, (_, i) => JSON.stringify({ n: i }));
      const results = await Promise.all(bodies.map(async (body) => {
        const res = await upload(cluster.port, body);
        const location = res.headers.get("location");
        await res.body?.cancel();
        return { status: res.status, location, body };
      }));
      assert.deepEqual(results.filter((r) => r.status !== 201), [], "uploads not created");
      const names = results.map((r) => r.location!.slice("/uploads/".length));
      assert.equal(new Set(names).size, UPLOADS, "two uploads got the same name");
      const stored: string[] = [];
      for await (const entry of Deno.readDir(cluster.uploads)) stored.push(entry.name);
      assert.deepEqual(stored.sort(), [...names].sort(), "the folder holds exactly the uploads");
      for (const { location, body } of results) {
        assert.equal(await Deno.readTextFile(`${cluster.uploads}/${location!.slice(9)}`), body);
      }
      // Both instances took a share.
      for (const instance of cluster.instances) {
        assert.match(instance.log(), /"method":"POST","target":"\/upload".*"status":201/);
      }
      // The client nginx names (its X-Forwarded-For, trusted from 127.0.0.1) is the one logged.
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}/notes.txt?forwarded`, {
          headers: { "X-Forwarded-For": "198.51.100.9" },
        });
        await res.body?.cancel();
      }
      await waitFor(
        () =>
          cluster.instances.some((s) =>
            /"client":"198\.51\.100\.9",.*"target":"\/notes\.txt\?forwarded"/.test(
              s.log(),
            )
          ),
        { what: "the forwarded client in an access line" },
      );
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name:
    "behind nginx: one instance stopped gracefully mid-load, its /healthz 503 first, no request fails",
  ignore: !HAVE_NGINX,
  ...SPAWNED,
  async fn() {
    await using dir = await tempDir();
    const cluster = await startCluster(dir.path);
    try {
      const base = `http://127.0.0.1:${cluster.port}`;
      const [stopping] = cluster.instances as [SpawnedServer, SpawnedServer];
      const failures: string[] = [];
      let requests = 0;
      let running = true;
      const worker = async (id: number) => {
        for (let i = 0; running; i++) {
          try {
            const res = i % 4 === 0
              ? await upload(cluster.port, JSON.stringify({ worker: id, i }))
              : await fetch(`${base}/index.html`);
            await res.body?.cancel();
            if (res.status !== 200 && res.status !== 201) failures.push(`${res.status}`);
          } catch (error) {
            failures.push(String(error));
          }
          requests++;
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, (_, id) => worker(id)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Asked to stop, it drains: /healthz says 503 at once, everything else is still served.
      stopping.process.kill("SIGTERM");
      // Each probe on a new connection: the draining listener still accepts.
      await waitFor(async () => (await get(stopping.port, "/healthz")).status === 503, {
        what: "/healthz of the stopping instance to answer 503",
        timeoutMs: 1500,
      });
      const page = await get(stopping.port, "/index.html");
      assert.equal(page.status, 200, "a draining instance still serves");
      assert.equal(page.header("connection"), "close");
      await cluster.markDown(stopping.port);
      assert.equal((await stopping.status).code, 0, "the stopped instance exits 0");
      await new Promise((resolve) => setTimeout(resolve, 500));
      running = false;
      await load;
      assert.ok(requests > 200, `only ${requests} requests`);
      assert.deepEqual(failures, [], `failed requests; nginx: ${await cluster.nginxLog()}`);
      assert.match(stopping.log(), /stopped after \d+ ms/);
    } finally {
      await cluster.close();
    }
  },
});
