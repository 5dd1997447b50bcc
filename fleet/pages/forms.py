"""Page forms: they check the shape of the input; the fleet services judge its values."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import QueryDict

from fleet import choices
from fleet.choices import AuthMethod
from fleet.models import Node

MAX_KEY_FILE_BYTES = 64 * 1024
SECRET_FIELDS = ("private_key", "passphrase", "password")


def _secret(label: str, help_text: str = "") -> forms.CharField:
    # Rendered back only from the submitted data (a failed POST, to the admin who typed it, in a
    # response that is never cached); stored secrets are never put into the form.
    widget = forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"})
    return forms.CharField(
        label=label, required=False, strip=False, widget=widget, help_text=help_text
    )


class NodeForm(forms.Form):
    """Onboarding or editing a DevServer: connection, credentials, labels and Ascend paths."""

    name = forms.CharField(max_length=63, help_text="Lowercase letters, digits and '-'.")
    host = forms.CharField(max_length=253, help_text="Host name or IP address.")
    port = forms.IntegerField(initial=22)
    username = forms.CharField(label="User", max_length=32, initial="root")
    auth_method = forms.ChoiceField(
        label="Authentication", choices=AuthMethod.choices, initial=AuthMethod.KEY
    )
    private_key = forms.CharField(
        label="Private key",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": "-----BEGIN OPENSSH PRIVATE KEY-----",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="Paste it here or upload the file below.",
    )
    private_key_file = forms.FileField(label="…or upload the private key file", required=False)
    passphrase = _secret("Key passphrase")
    password = _secret("Password")
    jump_host = forms.CharField(
        label="Jump host", max_length=300, required=False, help_text="user@host:port of a bastion."
    )
    labels = forms.CharField(
        max_length=1000, required=False, help_text="Comma-separated, e.g. region=gy1, team=vision."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    device_dir = forms.CharField(label="Device dir", initial=choices.DEFAULT_DEVICE_DIR)
    driver_dir = forms.CharField(label="Driver dir", initial=choices.DEFAULT_DRIVER_DIR)
    npu_smi_path = forms.CharField(label="npu-smi", initial=choices.DEFAULT_NPU_SMI_PATH)
    install_info_path = forms.CharField(
        label="Install info", initial=choices.DEFAULT_INSTALL_INFO_PATH
    )
    weights_dir = forms.CharField(label="Weights dir", initial=choices.DEFAULT_WEIGHTS_DIR)
    workspace_root = forms.CharField(
        label="Workspace root",
        initial=choices.DEFAULT_WORKSPACE_ROOT,
        required=False,
        help_text="Each team's folder is <workspace root>/<team slug>; containers may mount "
        "only there and below the weights dir.",
    )
    expected_cards = forms.IntegerField(
        label="Expected cards", initial=8, min_value=1, max_value=64
    )
    network_mode = forms.ChoiceField(
        label="Network mode",
        choices=Node._meta.get_field("network_mode").choices or [],
        initial="host",
        required=False,
        help_text=Node._meta.get_field("network_mode").help_text,
    )

    def __init__(self, *args: Any, node: Node | None = None, **kwargs: Any) -> None:
        if node is not None:
            kwargs.setdefault("initial", self.initial_for(node))
        super().__init__(*args, **kwargs)
        if node is not None:
            for name in SECRET_FIELDS:
                self.fields[name].help_text = "Leave blank to keep the stored value."

    @staticmethod
    def initial_for(node: Node) -> dict[str, Any]:
        """The node's current settings, secrets left out."""
        plain = [f for f in NodeForm.base_fields if f not in (*SECRET_FIELDS, "private_key_file")]
        initial = {name: getattr(node, name) for name in plain}
        initial["labels"] = ", ".join(node.labels)
        return initial

    def clean_workspace_root(self) -> str:
        """Blank means the default root."""
        return self.cleaned_data.get("workspace_root") or choices.DEFAULT_WORKSPACE_ROOT

    def clean_private_key_file(self) -> str:
        upload = self.cleaned_data.get("private_key_file")
        if not upload:
            return ""
        if upload.size > MAX_KEY_FILE_BYTES:
            raise forms.ValidationError("This file is too large to be an SSH private key.")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("This file is not a text (OpenSSH or PEM) key.") from None

    def clean_network_mode(self) -> str | None:
        """Left out means unchanged (a new node gets the host network)."""
        return self.cleaned_data.get("network_mode") or None

    def keep_uploaded_key(self) -> None:
        """After a failed submit, move an uploaded key into the key field, so the page shows it
        kept instead of asking for the file again (browsers clear file inputs)."""
        uploaded = getattr(self, "cleaned_data", {}).get("private_key_file")
        if self.errors and uploaded and not self.data.get("private_key"):
            data = cast(QueryDict, self.data).copy()  # a bound form's data is a QueryDict
            data["private_key"] = uploaded
            self.data = data
            kept = "The key from the uploaded file is kept here: you need not upload it again."
            self["private_key"].help_text = kept

    def values(self) -> dict[str, Any]:
        """The input as the node services take it; blank secrets are left out (keep)."""
        data = dict(self.cleaned_data)
        uploaded = data.pop("private_key_file", "")
        if uploaded and not data.get("private_key"):
            data["private_key"] = uploaded
        data["labels"] = [v.strip() for v in data.get("labels", "").split(",") if v.strip()]
        for name in SECRET_FIELDS:
            if not data.get(name):
                data.pop(name, None)
        return data


class AcceptHostKeyForm(forms.Form):
    """The fingerprint the admin reviewed and accepts."""

    fingerprint = forms.CharField(max_length=100)
    jump_fingerprint = forms.CharField(max_length=100, required=False)
