"""``anchorhoi.setup_backend``: create the backend's venv and pip-install it, without blocking
Blender (a ``bpy.app.timers`` function polls the child processes once a second)."""

from __future__ import annotations

import sys

import bpy

from ..client import backend_setup
from ..ui import preferences


class ANCHORHOI_OT_setup_backend(bpy.types.Operator):
    """Create a Python environment in the extension's user folder and install the backend
    into it (downloads PyTorch and the backend's packages)"""

    bl_idname = "anchorhoi.setup_backend"
    bl_label = "Set Up Backend"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if not bpy.app.online_access:
            cls.poll_message_set("Allow online access in Preferences › System › Network first")
            return False
        return True

    def invoke(self, context, event):
        prefs = preferences.get(context)
        text = " ".join(backend_setup.summary_lines(prefs.setup_torch))
        return context.window_manager.invoke_confirm(self, event, title="Set Up Backend",
                                                     message=text, confirm_text="Download")

    def execute(self, context):
        prefs = preferences.get(context)
        try:
            backend_setup.check_can_set_up(online_access=bool(bpy.app.online_access),
                                           base_python=sys.executable)
            venv = preferences.user_folder() / backend_setup.VENV_NAME
            commands = backend_setup.setup_commands(sys.executable, venv,
                                                    torch_build=prefs.setup_torch,
                                                    backend_spec=prefs.backend_source)
        except (backend_setup.SetupRefused, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        run = backend_setup.SetupRun(commands=commands,
                                     log_path=preferences.user_folder() / backend_setup.LOG_NAME)
        package = preferences.ADDON_PACKAGE
        python = str(backend_setup.venv_python(venv))

        def poll_setup():  # the closure owns the run: no global keeps it
            done = run.poll()
            wm = bpy.context.window_manager
            wm.anchorhoi_setup_status = run.status()
            if not done:
                return 1.0
            if run.returncode == 0:
                addon = bpy.context.preferences.addons.get(package)
                if addon is not None and not addon.preferences.backend_python.strip():
                    addon.preferences.backend_python = python
            return None

        bpy.app.timers.register(poll_setup, first_interval=0.1)
        context.window_manager.anchorhoi_setup_status = run.status()
        self.report({"INFO"}, f"Setting up the backend in {venv}; progress in "
                              f"{run.log_path}")
        return {"FINISHED"}
