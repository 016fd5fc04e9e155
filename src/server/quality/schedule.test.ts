import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addMonths, dailyState, isDate, tokyoDate } from './schedule.ts';

describe('QC schedule', () => {
  it('counts the daily check per calendar day in Asia/Tokyo (UTC+9)', () => {
    assert.equal(tokyoDate(new Date('2025-06-01T14:59:59Z')), '2025-06-01', '23:59:59 JST');
    assert.equal(tokyoDate(new Date('2025-06-01T15:00:00Z')), '2025-06-02', 'midnight JST is the next day while UTC is still on the 1st');
    assert.deepEqual(dailyState('2025-06-01', true, '2025-06-01'), { overdue: false, failed: false });
    assert.deepEqual(dailyState('2025-06-01', true, '2025-06-02'), { overdue: true, failed: false }, 'yesterday\'s check does not count today');
    assert.deepEqual(dailyState('2025-06-02', false, '2025-06-02'), { overdue: true, failed: true }, 'a failed check leaves the day unchecked');
    assert.deepEqual(dailyState(null, null, '2025-06-02'), { overdue: true, failed: false });
  });

  it('adds months to dates, holding the day to the end of short months', () => {
    assert.equal(addMonths('2025-04-01', 6), '2025-10-01');
    assert.equal(addMonths('2025-08-31', 6), '2026-02-28');
    assert.equal(addMonths('2023-08-31', 6), '2024-02-29');
    assert.equal(addMonths('2025-11-15', 3), '2026-02-15');
    assert.throws(() => addMonths('2025-02-30', 1), RangeError);
    assert.ok(isDate('2024-02-29'));
    assert.ok(!isDate('2025-02-29'));
    assert.ok(!isDate('2025-2-1'));
  });
});
