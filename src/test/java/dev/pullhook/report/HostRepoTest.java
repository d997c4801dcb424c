package dev.pullhook.report;

import dev.pullhook.config.ReportOptions.Host;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The repository a remote's URL names on each host, in the shapes each host's clone dialog shows. */
class HostRepoTest {
    private static String repo(Host host, String url) {
        return HostRepo.fromRemoteUrl(host, url, host.defaultApi() == null ? null : URI.create(host.defaultApi()));
    }

    @Test
    void githubAndGiteaNameOwnerAndRepository() {
        assertEquals("octo/site", repo(Host.GITHUB, "https://github.com/octo/site.git"));
        assertEquals("octo/site", repo(Host.GITHUB, "https://github.com/octo/site"));
        assertEquals("octo/site", repo(Host.GITHUB, "git@github.com:octo/site.git"));
        assertEquals("octo/site", repo(Host.GITHUB, "ssh://git@github.com/octo/site.git"));
        assertEquals("octo/site", repo(Host.GITHUB, "https://x-access-token:secret@github.com/octo/site.git/"));
        assertEquals("octo/site", repo(Host.GITEA, "https://git.example.com/gitea/octo/site.git"));
        assertEquals("octo/site", repo(Host.GITEA, "ssh://git@git.example.com:2222/octo/site.git"));
    }

    @Test
    void bitbucketCloudNamesWorkspaceAndSlug() {
        assertEquals("team/site", repo(Host.BITBUCKET_CLOUD, "https://jdoe@bitbucket.org/team/site.git"));
        assertEquals("team/site", repo(Host.BITBUCKET_CLOUD, "git@bitbucket.org:team/site.git"));
    }

    @Test
    void bitbucketDataCenterNamesProjectAndSlug() {
        assertEquals("WEB/site", repo(Host.BITBUCKET_DC, "https://bitbucket.example.com/scm/WEB/site.git"));
        assertEquals("WEB/site", repo(Host.BITBUCKET_DC, "https://example.com/bitbucket/scm/WEB/site.git"));
        assertEquals("web/site", repo(Host.BITBUCKET_DC, "ssh://git@bitbucket.example.com:7999/web/site.git"));
        assertNull(repo(Host.BITBUCKET_DC, "https://bitbucket.example.com/projects/WEB/repos/site"),
                "a browser address, not a clone URL");
    }

    @Test
    void gitlabNamesTheWholeProjectPath() {
        assertEquals("group/sub/site", repo(Host.GITLAB, "https://gitlab.com/group/sub/site.git"));
        assertEquals("group/sub/site", repo(Host.GITLAB, "git@gitlab.com:group/sub/site.git"));
        // a GitLab served under /gitlab: that part of the path is GitLab's, not the project's
        assertEquals("group/site", HostRepo.fromRemoteUrl(Host.GITLAB, "https://example.com/gitlab/group/site.git",
                URI.create("https://example.com/gitlab")));
        assertEquals("group/site", HostRepo.fromRemoteUrl(Host.GITLAB, "https://example.com/gitlab/group/site.git",
                URI.create("https://example.com/gitlab/api/v4")));
    }

    @Test
    void aLocalRemoteOrAnUnknownShapeNamesNothing() {
        assertNull(repo(Host.GITHUB, "/srv/git/site.git"));
        assertNull(repo(Host.GITHUB, "../site.git"));
        assertNull(repo(Host.GITHUB, "file:///srv/git/site.git"));
        assertNull(repo(Host.GITHUB, "https://github.com/site.git"));
        assertNull(repo(Host.GITHUB, null));
        assertNull(repo(Host.GITLAB, "https://gitlab.com/site.git"));
        assertNull(repo(Host.GITHUB, "https://github.com/octo/si%20te.git"), "nothing that needs escaping in a path");
    }
}
