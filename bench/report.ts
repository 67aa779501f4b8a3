/** Small statistics and text tables shared by the benches (`npm run bench:*`). */

/** Nearest-rank percentile (NaN when empty). */
export function pct (values: number[], p: number): number {
  if (values.length === 0) { return NaN }
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

export function mean (values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}

/** A summary field: `min`, `max`, or a percentile such as `p50`. */
export type Quantile = 'min' | 'max' | `p${number}`

/** How many values there were, and the quantiles asked for (NaN when there were none). */
export type Stats<K extends Quantile> = { n: number } & Record<K, number>

/**
 * Summarise the finite values among `values` (missing ones are left out) by the quantiles in `keys`, in that
 * order: `stats(v, ['p50', 'max'])` is `{ n, p50, max }`.
 */
export function stats<K extends Quantile> (values: ReadonlyArray<number | null | undefined>, keys: readonly K[]): Stats<K> {
  const v = values.filter((x): x is number => x != null && Number.isFinite(x))
  const out: Record<string, number> = { n: v.length }
  for (const k of keys) {
    if (k === 'min') {
      out[k] = pct(v, 0)
    } else if (k === 'max') {
      out[k] = pct(v, 100)
    } else {
      out[k] = pct(v, Number(k.slice(1)))
    }
  }
  return out as Stats<K>
}

export function ms (v: number | null | undefined): string {
  return v == null || Number.isNaN(v) ? '-' : `${Math.round(v)}`
}

export function fixed (v: number | null | undefined, digits = 1): string {
  return v == null || Number.isNaN(v) ? '-' : v.toFixed(digits)
}

export function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length)))
  return rows.map((r, j) => {
    const line = '  ' + r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')
    return j === 0 ? `${line}\n  ${'-'.repeat(line.length - 2)}` : line
  }).join('\n')
}
