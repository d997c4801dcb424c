package dev.pullhook.config;

import java.util.List;

/**
 * Every problem found in a configuration, each naming its key. Thrown once, after all keys were
 * checked, so a sysadmin fixes the whole file in one go; {@code Main} turns it into exit status 2.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
