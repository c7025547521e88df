/** What this project reads from a Linux `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`). */
export interface ProcStat {
  /** One letter: R running, S sleeping, T stopped, Z zombie, ... */
  state: string;
  parent: number;
  group: number;
}

/**
 * Parses "pid (comm) state ppid pgrp ...". The command name may hold spaces and parentheses,
 * so the fields are read after its last ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', parent: Number(fields[1]), group: Number(fields[2]) };
}
