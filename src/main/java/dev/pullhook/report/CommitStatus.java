package dev.pullhook.report;

import java.util.Locale;

/**
 * One status to put on a commit, in pullhook's terms; {@link HostApi} words it the way each host's API wants.
 *
 * @param deploy      the deploy it is about
 * @param commit      the full commit id
 * @param state       {@link State}
 * @param description a short human-readable line ("deployed in 1.2 s"), cut to the host's limit when sent
 */
record CommitStatus(long deploy, String commit, State state, String description) {

    /** Where the deploy is. */
    enum State {
        /** under way: pending, in progress, running, as the host calls it */
        PENDING,
        SUCCESS,
        FAILURE;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
