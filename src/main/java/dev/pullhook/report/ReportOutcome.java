package dev.pullhook.report;

import java.util.Locale;

/** How posting one commit status ended: the {@code outcome} label of {@code pullhook_report_requests_total}. */
public enum ReportOutcome {
    /** the host took it (2xx) */
    SENT,
    /** the host refused it (4xx other than 408/429, a redirect), or gave no 2xx in three tries */
    FAILED,
    /** never sent: the queue was full (the host had been slow for a while), or the daemon stopped first */
    DROPPED;

    /** Its label value: {@code sent}, {@code failed}, {@code dropped}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return label();
    }
}
