// nginx as a baseline reverse proxy: one worker, keep-alive upstream, config and every file it writes
// (pid, logs, temp paths) in a temp dir, `daemon off`, listening on 127.0.0.1. Works without root.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'

export interface Baseline { url: string; child: ChildProcess; stop(): Promise<void> }

/** `socket`: the instance listens on this Unix socket (Kiln's local instances do), not on `upstream`'s port. */
export async function startNginx(o: { dir: string; port: number; upstream: string; socket?: string; cpu?: string; bin?: string }): Promise<Baseline> {
  const dir = join(o.dir, 'nginx')
  for (const d of ['', 'logs', 'tmp']) mkdirSync(join(dir, d), { recursive: true })
  const up = new URL(o.upstream)
  const server = o.socket ? `unix:${o.socket}` : `${up.hostname}:${up.port}`
  const conf = `# written by bench/router.ts
${o.socket && process.getuid?.() === 0 ? 'user root; # the worker connects to a socket only its owner and root may open' : ''}
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  upstream runtime {
    server ${server};
    keepalive 1024;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    location / {
      proxy_pass http://runtime;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
  const confPath = join(dir, 'nginx.conf')
  writeFileSync(confPath, conf)
  const bin = o.bin ?? '/usr/sbin/nginx'
  const args = ['-p', dir, '-c', confPath, '-e', join(dir, 'logs', 'error.log')]
  const child = o.cpu ? spawn('taskset', ['-c', o.cpu, bin, ...args], { stdio: 'ignore' }) : spawn(bin, args, { stdio: 'ignore' })
  const url = `http://127.0.0.1:${o.port}`
  await waitUp(url, child, 'nginx')
  return { url, child, stop: () => stopChild(child) }
}

export async function waitUp(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`)
    try {
      const r = await request(url)
      await r.body.dump()
      if (r.statusCode < 500) return
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${what} did not start at ${url}`)
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => { clearTimeout(t); resolve() })
    child.kill('SIGTERM')
  })
}
