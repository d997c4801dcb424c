package dev.pullhook.http;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.pullhook.deploy.Deployment;

/**
 * The answer to an accepted {@code POST /pull-repo} or {@code /rollback}: {@code 202} while the job is queued,
 * or with {@code ?wait=true} how it ended. Jackson writes it for the daemon and reads it for {@code pullhook
 * deploy} / {@code rollback}, telling the cases apart by {@code status}; any other answer (ignored, refused,
 * ...) reads as null.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.EXISTING_PROPERTY, property = "status",
        visible = true)
@JsonSubTypes({
        @JsonSubTypes.Type(value = JobAnswer.Queued.class, name = "queued"),
        @JsonSubTypes.Type(value = JobAnswer.Deployed.class, name = "deployed"),
        @JsonSubTypes.Type(value = JobAnswer.Failed.class, name = "failed"),
        @JsonSubTypes.Type(value = JobAnswer.Cancelled.class, name = "cancelled")})
@JsonIgnoreProperties(ignoreUnknown = true)
public sealed interface JobAnswer {
    String status();

    long id();

    /** The job is queued (or running): its id. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Queued(String status, long id) implements JobAnswer {
        Queued(long id) {
            this("queued", id);
        }
    }

    /** It deployed (or rolled back): HEAD before (null for an empty working copy) and after. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Deployed(String status, long id, String from, String to, long ms,
                    @JsonInclude(JsonInclude.Include.NON_NULL) String saved) implements JobAnswer {
    }

    /**
     * It failed; {@code saved} where local work was kept before it did, if anywhere; after a failed health
     * check, which ({@code check}) and the commit put back ({@code restored}), if one was.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Failed(String status, long id, String error,
                  @JsonInclude(JsonInclude.Include.NON_NULL) String saved,
                  @JsonInclude(JsonInclude.Include.NON_NULL) String check,
                  @JsonInclude(JsonInclude.Include.NON_NULL) String restored) implements JobAnswer {
    }

    /** The daemon stopped before it ran. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Cancelled(String status, long id, String error) implements JobAnswer {
    }

    /** How a finished job is answered. */
    static JobAnswer of(Deployment d) {
        return switch (d.outcome()) {
            case DEPLOYED -> new Deployed("deployed", d.id(), d.from(), d.to(), d.ms(), d.saved());
            case FAILED -> new Failed("failed", d.id(), d.error(), d.saved(), d.check(), d.restored());
            case CANCELLED -> new Cancelled("cancelled", d.id(), d.error());
        };
    }
}
