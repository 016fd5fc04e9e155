/**
 * Scrolling viewports together by slice position (the current study beside a prior, W3).
 *
 * When the reader moves one viewport, every other synchronised viewport in the same plane
 * orientation goes to its slice nearest to the same position along the slice normal.
 * Positions of two studies are compared as they are (same table coordinates), or with the
 * offsets fixed by {@link SyncHub.alignHere} when the reader has lined up matching slices
 * by hand first (a different table position in the prior).
 */
import type { ViewportController } from './controller.ts';
import { nearestSlice, parallel } from './geometry.ts';

export class SyncHub {
  private readonly viewports = new Map<string, ViewportController>();
  private readonly offsets = new Map<string, number>();
  private propagating = false;
  enabled = false;

  /** The viewport the reader moved last: the others follow it. */
  private leader: ViewportController | undefined;

  add(vp: ViewportController): void {
    this.viewports.set(vp.id, vp);
    vp.onSliceChange = (source) => {
      if (source === 'user' || source === 'cine') this.moved(vp);
    };
    // A stack that arrives (or gains its slice positions) joins the leader's position.
    vp.onStackChange = () => this.follow(vp);
  }

  remove(vp: ViewportController): void {
    this.viewports.delete(vp.id);
    this.offsets.delete(vp.id);
    if (this.leader === vp) this.leader = undefined;
    vp.onSliceChange = undefined;
    vp.onStackChange = undefined;
  }

  /** Turns synchronisation on or off; on, the others join `reference` at once. */
  setEnabled(enabled: boolean, reference?: ViewportController): void {
    this.enabled = enabled;
    if (enabled && reference) this.moved(reference);
  }

  /** Moves one viewport to the leader's position. */
  private follow(vp: ViewportController): void {
    const leader = this.leader;
    if (!this.enabled || !leader || leader === vp || !this.viewports.has(leader.id)) return;
    const position = leader.position();
    const normal = leader.getStack().normal;
    if (position === undefined || !normal || !parallel(vp.getStack().normal, normal)) return;
    const index = nearestSlice(vp.getStack(), position - (this.offsets.get(leader.id) ?? 0) + (this.offsets.get(vp.id) ?? 0), normal);
    if (index !== undefined) vp.setIndex(index, 'sync');
  }

  /** Compares positions as they are (no offsets). */
  resetOffsets(): void {
    this.offsets.clear();
  }

  /** Takes the slices on screen now as matching: their position differences become the offsets. */
  alignHere(reference: ViewportController): void {
    const ref = reference.position();
    this.offsets.clear();
    if (ref === undefined) return;
    for (const vp of this.viewports.values()) {
      const p = vp.position();
      if (p !== undefined && vp !== reference) this.offsets.set(vp.id, p - ref);
    }
  }

  /** Moves the other viewports to the slice position of `source`. */
  moved(source: ViewportController): void {
    this.leader = source;
    if (!this.enabled || this.propagating) return;
    const position = source.position();
    const normal = source.getStack().normal;
    if (position === undefined || !normal) return;
    const base = position - (this.offsets.get(source.id) ?? 0);
    this.propagating = true;
    try {
      for (const vp of this.viewports.values()) {
        if (vp === source) continue;
        const stack = vp.getStack();
        if (!parallel(stack.normal, normal)) continue;
        const index = nearestSlice(stack, base + (this.offsets.get(vp.id) ?? 0), normal);
        if (index !== undefined) vp.setIndex(index, 'sync');
      }
    } finally {
      this.propagating = false;
    }
  }
}
