/**
 * A strict reader of the Prometheus text exposition format 0.0.4, written from its description
 * (not from src/http/exposition.ts), for tests of `/metrics`: it throws, naming the line, at
 * anything a Prometheus server would refuse or misread, and returns the families it read.
 *
 * Checked: every line is a HELP, TYPE or sample line (or a comment); names and label names
 * match their grammar; label values use only the escapes `\\`, `\"` and `\n`; values are Go
 * floats; each family has at most one HELP and one TYPE, the TYPE before its samples, and its
 * samples in one group; no series repeats; counters are finite and not negative; a histogram's
 * buckets ascend in `le`, are cumulative, end in `+Inf` equal to `_count`, and `_sum` is there.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string | null;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(\\{.*\\})? (\\S+)( -?[0-9]+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/;
const FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function parseValue(text: string, where: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!FLOAT.test(text)) throw new Error(`${where}: value ${JSON.stringify(text)} is not a float`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text.slice(1, -1);
  while (rest !== "") {
    const match = LABEL.exec(rest);
    if (match === null) throw new Error(`${where}: malformed labels ${JSON.stringify(text)}`);
    const name = match[1] as string;
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = (match[2] as string).replace(
      /\\(.)/g,
      (_, c: string) => c === "n" ? "\n" : c,
    );
    rest = rest.slice(match[0].length);
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (rest !== "") throw new Error(`${where}: expected "," in ${JSON.stringify(text)}`);
  }
  return labels;
}

/** The family a sample belongs to: its own name, or a histogram's for `_bucket`/`_sum`/`_count`. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(name);
  if (own !== undefined) return own;
  const match = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = match === null ? undefined : families.get(match[1] as string);
  return base !== undefined && (base.type === "histogram" || base.type === "summary")
    ? base
    : undefined;
}

/** Reads `text`; throws at the first thing wrong. */
export function parseExposition(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the last line has no line feed");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: Family | null = null;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, index) => {
    const where = `line ${index + 1} ${JSON.stringify(line)}`;
    if (line === "") return;
    let match = HELP_LINE.exec(line);
    if (match !== null) {
      const family = declare(match[1] as string, where);
      if (family.help !== null) throw new Error(`${where}: second HELP`);
      if (/\\[^\\n]/.test((match[2] as string).replace(/\\\\/g, ""))) {
        throw new Error(`${where}: HELP escapes only \\\\ and \\n`);
      }
      family.help = match[2] as string;
      return;
    }
    match = TYPE_LINE.exec(line);
    if (match !== null) {
      const family = declare(match[1] as string, where);
      if (family.type !== "untyped" || family.samples.length > 0) {
        throw new Error(`${where}: TYPE again, or after samples`);
      }
      family.type = match[2] as string;
      return;
    }
    if (/^# (HELP|TYPE) /.test(line)) throw new Error(`${where}: malformed ${line.slice(2, 6)}`);
    if (line.startsWith("#")) return; // a comment
    match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`${where}: not a sample line`);
    const name = match[1] as string;
    const family = familyOf(name, families);
    if (family === undefined) throw new Error(`${where}: sample of an undeclared family`);
    enter(family, where);
    const labels = match[2] === undefined ? {} : parseLabels(match[2], where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: series repeated`);
    series.add(key);
    const value = parseValue(match[3] as string, where);
    if (family.type === "counter" && !(value >= 0 && value < Infinity)) {
      throw new Error(`${where}: a counter must be finite and not negative`);
    }
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;

  /** A family's lines (HELP, TYPE, samples) form one group. */
  function enter(family: Family, where: string): void {
    if (current === family) return;
    if (closed.has(family.name)) throw new Error(`${where}: family ${family.name} split`);
    if (current !== null) closed.add(current.name);
    current = family;
  }

  function declare(name: string, where: string): Family {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: "untyped", help: null, samples: [] };
      families.set(name, family);
    }
    enter(family, where);
    return family;
  }
}

function checkHistogram(family: Family): void {
  const { name } = family;
  const buckets = family.samples.filter((s) => s.name === `${name}_bucket`);
  const sum = family.samples.filter((s) => s.name === `${name}_sum`);
  const count = family.samples.filter((s) => s.name === `${name}_count`);
  if (sum.length !== 1 || count.length !== 1) {
    throw new Error(`${name}: a histogram needs one _sum and one _count`);
  }
  if (buckets.length === 0) throw new Error(`${name}: no buckets`);
  let lastLe = -Infinity;
  let lastCount = 0;
  for (const bucket of buckets) {
    const le = bucket.labels.le;
    if (le === undefined) throw new Error(`${name}_bucket without le`);
    const bound = parseValue(le, `${name}_bucket le`);
    if (!(bound > lastLe)) throw new Error(`${name}: le ${le} does not ascend`);
    if (bucket.value < lastCount) throw new Error(`${name}: bucket le=${le} not cumulative`);
    lastLe = bound;
    lastCount = bucket.value;
  }
  if (lastLe !== Infinity) throw new Error(`${name}: the last bucket is not le="+Inf"`);
  if (lastCount !== (count[0] as Sample).value) {
    throw new Error(`${name}: +Inf bucket ${lastCount} but _count ${(count[0] as Sample).value}`);
  }
}

/** The value of the one sample `name` with exactly `labels` (default: none), or undefined. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === want) {
        return sample.value;
      }
    }
  }
  return undefined;
}
