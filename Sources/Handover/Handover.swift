/// # Handover
///
/// Pure logic for what happens after a referral is taken out of hours: calendars and bank
/// holidays (``CalendarDay``, ``BankHolidayRules``), and, to come, office hours, statutory
/// deadlines, the day teams' handover packages and the host/home state machine. Time is always
/// passed in, never read from a clock; no I/O.
public enum HandoverModule {}
