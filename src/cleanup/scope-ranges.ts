/**
 * A set of scope numbers kept as sorted, disjoint ranges: a worker that cleans its tests in order holds
 * one range however many tests it ran; each scope never cleaned costs one more.
 */
export class ScopeRanges {
  // Range i is starts[i]..ends[i]; ranges neither overlap nor touch.
  readonly #starts: number[] = []
  readonly #ends: number[] = []

  has(n: number): boolean {
    const i = this.#last(n)
    return i >= 0 && n <= this.#ends[i]!
  }

  add(n: number): void {
    const i = this.#last(n)
    if (i >= 0 && n <= this.#ends[i]!) return
    const left = i >= 0 && this.#ends[i] === n - 1
    const right = i + 1 < this.#starts.length && this.#starts[i + 1] === n + 1
    if (left && right) {
      this.#ends[i] = this.#ends[i + 1]!
      this.#starts.splice(i + 1, 1)
      this.#ends.splice(i + 1, 1)
    } else if (left) this.#ends[i] = n
    else if (right) this.#starts[i + 1] = n
    else {
      this.#starts.splice(i + 1, 0, n)
      this.#ends.splice(i + 1, 0, n)
    }
  }

  /** How many ranges hold the set (its memory). */
  get ranges(): number {
    return this.#starts.length
  }

  // Index of the last range starting at or before n, or -1.
  #last(n: number): number {
    let lo = 0
    let hi = this.#starts.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (this.#starts[mid]! <= n) lo = mid + 1
      else hi = mid - 1
    }
    return hi
  }
}
