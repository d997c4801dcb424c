import io.javalin.Javalin;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The floor under pullhook's figures: what the fixed stack costs before pullhook does anything. bench/run.sh
 * compiles this against pullhook's jar (the same Javalin, Jetty and Jackson) and runs it with the unit's JVM
 * options, as it runs pullhook.
 * <ul>
 *   <li>{@code java Floor javalin PORT}: Javalin alone. {@code GET /health} answers as pullhook's does, and
 *   {@code POST /pull-repo} is answered from another thread through a future, as a {@code ?wait=true}
 *   deploy is, but with no git work, no signature and no logging.</li>
 *   <li>{@code java Floor jvm}: the JVM alone, a main thread that sleeps.</li>
 * </ul>
 */
public final class Floor {
    private Floor() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args[0].equals("jvm")) {
            Thread.sleep(600_000);
            return;
        }
        if (!args[0].equals("javalin")) {
            throw new IllegalArgumentException("usage: Floor javalin PORT | Floor jvm");
        }
        ExecutorService worker = Executors.newSingleThreadExecutor();
        Javalin.create(cfg -> {
            cfg.jetty.host = "127.0.0.1";
            cfg.jetty.port = Integer.parseInt(args[1]);
            cfg.startup.showJavalinBanner = false;
            cfg.routes.get("/health", ctx -> ctx.json(Map.of("status", "ok")));
            cfg.routes.post("/pull-repo", ctx -> {
                CompletableFuture<Map<String, Object>> done = new CompletableFuture<>();
                worker.execute(() -> done.complete(Map.of("status", "deployed", "id", 1)));
                ctx.future(() -> done.thenAccept(ctx::json));
            });
        }).start();
    }
}
