package dev.pullhook.http;

import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.thread.Invocable;

import java.nio.ByteBuffer;

/**
 * Reads one request body as it arrives, without ever blocking, for {@link WebhookGate} and {@link BodyBudget}:
 * takes every chunk Jetty has, and when none has come yet asks Jetty to call it again once one has
 * ({@code demand}), so a slow body holds no thread while it arrives. What to keep, and what to do at the end,
 * at a failure or past a limit, is the subclass's. Jetty may call it on the selector thread: nothing here
 * or in a subclass's callbacks may block.
 */
abstract class BodyReader implements Invocable.Task {
    final Request request;

    BodyReader(Request request) {
        this.request = request;
    }

    /** Called by Jetty when more of the body has come. */
    @Override
    public final void run() {
        read();
    }

    @Override
    public final InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    /** Reads what has come: to the end, to a failure, past the limit, or until Jetty has no more yet. */
    final void read() {
        try {
            readSome();
        } catch (Throwable t) {
            failedHere(t);
        }
    }

    private void readSome() {
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                request.demand(this);
                return;
            }
            if (Content.Chunk.isFailure(chunk)) {
                failed(chunk);
                return;
            }
            boolean last = chunk.isLast();
            if (!keep(chunk.getByteBuffer())) {
                tooLarge(chunk, last);
                return;
            }
            chunk.release();
            if (last) {
                complete();
                return;
            }
        }
    }

    /** Takes {@code data} in; false when the body would pass a limit (then {@code data} is left as it is). */
    abstract boolean keep(ByteBuffer data);

    /** {@link #keep} refused {@code chunk} (the body's last when {@code last}), which is this method's to release. */
    abstract void tooLarge(Content.Chunk chunk, boolean last);

    /** The body ended, all of it kept. */
    abstract void complete();

    /** The body failed to come (the client hung up, or was cut off): {@code failure} is a failure chunk. */
    abstract void failed(Content.Chunk failure);

    /** Reading threw: a bug, not the client. */
    abstract void failedHere(Throwable t);
}
