package dev.pullhook.deploy;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link Deployment} as JSON, the one shape Jackson writes and reads for it: a line of the history file,
 * an entry of {@code /status}'s {@code deploys}, and (without the command's output, already streamed) the
 * live log's {@code end} event. Field names, order and values are a contract: history files written by an
 * earlier pullhook must still read ({@code HistoryFileTest}), and scripts read {@code /status}. Unknown
 * fields are ignored, so a later pullhook's history still reads.
 *
 * @param trigger what {@link Trigger#toString()} writes
 * @param started an ISO-8601 instant
 * @param outcome what {@link Deployment.Outcome#toString()} writes
 * @param check   which health check failed ({@code command}, {@code url}); only written after one failed, so
 *                that every other entry keeps the shape it always had
 * @param restored the commit put back after the failed check, only written when one was
 */
@JsonPropertyOrder({"id", "trigger", "deliveries", "started", "ms", "from", "to", "outcome", "error", "saved", "command", "check", "restored"})
@JsonIgnoreProperties(ignoreUnknown = true)
public record DeploymentView(long id, String trigger, List<String> deliveries, String started, long ms, String from,
                             String to, String outcome, String error, String saved, Command command,
                             @JsonInclude(JsonInclude.Include.NON_NULL) String check,
                             @JsonInclude(JsonInclude.Include.NON_NULL) String restored) {

    /** {@link CommandResult} as JSON; {@code output} is left out when null (the live log's end event). */
    @JsonPropertyOrder({"exit", "timedOut", "ms", "output"})
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Command(int exit, boolean timedOut, long ms,
                          @JsonInclude(JsonInclude.Include.NON_NULL) List<String> output) {
    }

    public static DeploymentView of(Deployment d) {
        CommandResult c = d.command();
        return new DeploymentView(d.id(), d.trigger().toString(), d.deliveries(), d.started().toString(), d.ms(),
                d.from(), d.to(), d.outcome().toString(), d.error(), d.saved(),
                c == null ? null : new Command(c.exitCode(), c.timedOut(), c.ms(), c.output()), d.check(), d.restored());
    }

    /** The same without the command's output. */
    DeploymentView withoutOutput() {
        return command == null ? this : new DeploymentView(id, trigger, deliveries, started, ms, from, to, outcome,
                error, saved, new Command(command.exit(), command.timedOut(), command.ms(), null), check, restored);
    }

    /** The outcome, or null when it names none. */
    public Deployment.Outcome outcomeValue() {
        for (Deployment.Outcome o : Deployment.Outcome.values()) {
            if (o.toString().equals(outcome)) {
                return o;
            }
        }
        return null;
    }

    /**
     * The deploy read back, as it was written.
     *
     * @throws RuntimeException when a field it needs (trigger, started, outcome) is missing or unknown
     */
    Deployment toDeployment() {
        CommandResult c = command == null ? null : new CommandResult(command.exit(), command.timedOut(), command.ms(),
                command.output() == null ? new ArrayList<>() : new ArrayList<>(command.output()));
        return new Deployment(id, Trigger.parse(trigger), deliveries == null ? new ArrayList<>() : new ArrayList<>(deliveries),
                Instant.parse(started), ms, from, to, Deployment.Outcome.valueOf(outcome.toUpperCase(Locale.ROOT)),
                error, saved, c, check, restored);
    }
}
