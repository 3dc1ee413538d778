/**
 * The Prometheus text exposition format, version 0.0.4 (what `GET /metrics` answers): metric
 * families, each announced by `# HELP` and `# TYPE`, then its sample lines.
 *
 * Invariants:
 * - Every line is valid exposition syntax: names match `[a-zA-Z_:][a-zA-Z0-9_:]*` (checked when
 *   a family is begun), label values escape `\`, `"` and line feeds, HELP text `\` and line
 *   feeds, and values are Go-style floats (`+Inf`, `-Inf`, `NaN`, else the shortest decimal).
 * - Pure: the text is built in memory; nothing here reads a clock or a counter.
 */

export type MetricType = "counter" | "gauge" | "histogram";

/** The media type of the format (its Content-Type). */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value with `\`, `"` and line feeds escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** HELP text with `\` and line feeds escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** A sample value as the format writes it. */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

/** Labels, in the order given: `{a="x",b="y"}`, or nothing when there are none. */
export type Labels = readonly (readonly [string, string])[];

/** Builds the text of one exposition, family by family. */
export class Exposition {
  #text = "";

  /** Announces family `name`; its samples follow. */
  family(name: string, type: MetricType, help: string): this {
    if (!NAME.test(name)) throw new RangeError(`invalid metric name ${JSON.stringify(name)}`);
    this.#text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    return this;
  }

  /** One sample line: `name{labels} value`. */
  sample(name: string, labels: Labels, value: number): this {
    let line = name;
    if (labels.length > 0) {
      line += "{";
      for (let i = 0; i < labels.length; i++) {
        const [label, text] = labels[i] as readonly [string, string];
        if (!LABEL_NAME.test(label)) {
          throw new RangeError(`invalid label name ${JSON.stringify(label)}`);
        }
        line += `${i === 0 ? "" : ","}${label}="${escapeLabelValue(text)}"`;
      }
      line += "}";
    }
    this.#text += `${line} ${formatValue(value)}\n`;
    return this;
  }

  /**
   * A histogram's samples: `_bucket` for each upper bound in `bounds` (ascending) and `+Inf`,
   * cumulative, then `_sum` and `_count`. `counts[i]` is the number of observations in bucket
   * `i` alone (`counts[bounds.length]`: above the last bound).
   */
  histogram(
    name: string,
    bounds: readonly number[],
    counts: ArrayLike<number>,
    sum: number,
  ): this {
    let cumulative = 0;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += counts[i] as number;
      const le = i < bounds.length ? formatValue(bounds[i] as number) : "+Inf";
      this.sample(`${name}_bucket`, [["le", le]], cumulative);
    }
    this.sample(`${name}_sum`, [], sum);
    return this.sample(`${name}_count`, [], cumulative);
  }

  get text(): string {
    return this.#text;
  }
}
