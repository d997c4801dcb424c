# The tutorial's webhook receiver that pullhook replaces, kept as the benchmark's baseline (bench/run.sh).
# As in the tutorial: Flask's development server, the secret compared with X-Hub-Signature as a plain
# string, and `git fetch` + `git reset --hard` run through subprocess. Only the secret and the repository
# come from the environment (TUTORIAL_SECRET_FILE, TUTORIAL_REPO), so the secret is never on a command line.
import os
import subprocess

from flask import Flask, request

app = Flask(__name__)
SECRET = open(os.environ["TUTORIAL_SECRET_FILE"]).read().strip()
REPO = os.environ["TUTORIAL_REPO"]


@app.route("/pull-repo", methods=["POST"])
def pull_repo():
    if request.headers.get("X-Hub-Signature") != SECRET:
        return "Forbidden", 403
    subprocess.run(["git", "fetch", "origin"], cwd=REPO, check=True)
    subprocess.run(["git", "reset", "--hard", "origin/main"], cwd=REPO, check=True)
    return "Deployed", 200


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("TUTORIAL_PORT", "5000")))
