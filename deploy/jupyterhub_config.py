"""JupyterHub for a department: each user gets a single-user server that opens the dashboard.

Install the project in the single-user image (`pip install -e .` from a checkout, as in
environment.yml) and point JUPYTER_PATH / JUPYTER_CONFIG_PATH at the checkout, as `start` does
for Binder. Copy the relevant lines into your jupyterhub_config.py.
"""

c = get_config()  # noqa: F821 - provided by JupyterHub

CHECKOUT = "/srv/backpain-injection-explorer"

# Open the Voila dashboard instead of JupyterLab (users can still go to /lab for the notebooks).
c.Spawner.default_url = "/voila/render/notebooks/dashboard.ipynb"
c.Spawner.notebook_dir = CHECKOUT
c.Spawner.environment = {
    "JUPYTER_PATH": f"{CHECKOUT}/share/jupyter",
    "JUPYTER_CONFIG_PATH": f"{CHECKOUT}/deploy",
    "EXPLORER_DATA": f"{CHECKOUT}/data",
}
# A dashboard kernel holds about 150 MB; leave head-room for the browser-side work.
c.Spawner.mem_limit = "1G"
c.Spawner.cpu_limit = 1

# Stop idle single-user servers (and with them their kernels) after an hour.
c.JupyterHub.services = [
    {"name": "idle-culler", "command": ["python3", "-m", "jupyterhub_idle_culler", "--timeout=3600"]},
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]
