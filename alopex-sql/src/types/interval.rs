//! INTERVAL values, in PostgreSQL's three fields.

/// An interval: months, days and microseconds are kept apart, as PostgreSQL
/// does, because a month has no fixed length and a day may not be 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// The interval as microseconds, with a month as 30 days and a day as 24
    /// hours: PostgreSQL's rule for comparing and ordering intervals.
    pub fn total_micros(&self) -> i128 {
        const DAY: i128 = 86_400_000_000;
        (self.months as i128 * 30 + self.days as i128) * DAY + self.micros as i128
    }
}
