// Messages between the platform and its spawner process (spawner-main.ts), over Node's IPC channel.

export type SpawnerRequest =
  | { t: 'spawn'; id: string; command: string; args: string[]; env: Record<string, string>; readyPipe: boolean; infoPipe?: boolean; nice?: number }
  | { t: 'kill'; id: string; signal: NodeJS.Signals }

export type SpawnerReply =
  | { t: 'up'; pid: number }
  | { t: 'spawned'; id: string; pid: number }
  | { t: 'error'; id: string; message: string }
  /** Output: fd 1 stdout, 2 stderr, 3 the ready pipe, 4 the info pipe (bubblewrap's --info-fd). */
  | { t: 'data'; id: string; fd: 1 | 2 | 3 | 4; d: string }
  | { t: 'exit'; id: string; code: number | null; signal: NodeJS.Signals | null }
  | { t: 'close'; id: string }
