"""The error tree of FieldScreen, and the catalogue of messages users can meet.

Two kinds of failure are kept apart (the distinction qutebrowser draws in ``misc/sql.py``):

* :class:`KnownError` -- the environment failed or the user asked for something that cannot be
  done: a wrong passphrase, a full disk, an unreachable server, a malformed form. The app shows a
  calm message that says what happened and what to do; the command line prints one line.
* :class:`BugError` -- an invariant of our own code broke. The app shows a crash dialog and writes
  a crash report that contains no personal data.

Every :class:`KnownError` carries a stable ``code`` from :data:`CATALOGUE`. The same codes are used
by the server in its problem responses, so that the UI can render a server's refusal in the user's
language. ``str(error)`` is always presentable to a user (in English); ``error.message(lang)``
renders it in another language.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "BugError",
    "DeviceError",
    "FieldScreenError",
    "KnownError",
    "Message",
    "SettingsError",
    "quiet_stdout",
    "render",
    "run_guarded",
]

#: Languages every message must exist in.
LANGUAGES = ("en", "es")


@dataclass(frozen=True, slots=True)
class Message:
    """One catalogue entry: what happened and what to do, in every language."""

    en: str
    es: str

    def text(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


#: Stable code -> message. Placeholders use ``str.format`` names; values come from the error's
#: context and must never contain answers, names or keys.
CATALOGUE: Mapping[str, Message] = {
    "unknown-command": Message(
        en="Unknown command {command!r}. Run 'fieldscreen --help' to see the commands.",
        es="Comando desconocido {command!r}. Ejecute 'fieldscreen --help' para ver los comandos.",
    ),
    "no-display": Message(
        en=(
            "No display was found, so the window cannot open. On a server or a machine without "
            "a screen, run it under a virtual display: 'xvfb-run -a make run' (Debian package "
            "'xvfb'), or use the headless commands listed by 'fieldscreen --help'."
        ),
        es=(
            "No se encontró una pantalla, así que la ventana no puede abrirse. En un servidor o "
            "en un equipo sin pantalla, ejecútelo en una pantalla virtual: 'xvfb-run -a make run' "
            "(paquete de Debian 'xvfb'), o use los comandos sin ventana de 'fieldscreen --help'."
        ),
    ),
    "profile-not-writable": Message(
        en="The data folder {path} cannot be written. Choose another folder with --profile.",
        es="No se puede escribir en la carpeta de datos {path}. Elija otra con --profile.",
    ),
    "resource-missing": Message(
        en="A file the app needs is missing: {name}. Reinstall FieldScreen.",
        es="Falta un archivo que la aplicación necesita: {name}. Reinstale FieldScreen.",
    ),
    "settings-locked-restored": Message(
        en=(
            "The settings file on this laptop had been edited to change settings the "
            "organisation locks ({names}). The organisation's values are back in force and the "
            "edit was recorded in the audit log. Tell your supervisor or IT."
        ),
        es=(
            "El archivo de ajustes de esta computadora se había editado para cambiar ajustes "
            "que la organización bloquea ({names}). Vuelven a regir los valores de la "
            "organización y el cambio quedó registrado en el registro de auditoría. Avise a su "
            "supervisor o a informática."
        ),
    ),
    "sync-handovers": Message(
        en="Handover packets: {sent} sent to the server, {queued} still queued (sent again "
        "next time); {acks} partner acknowledgements applied, {refused} refused (not signed "
        "by the partner the directory names).",
        es="Paquetes de traspaso: {sent} enviados al servidor, {queued} aún en cola (se envían "
        "de nuevo la próxima vez); {acks} acuses de recibo de socios aplicados, {refused} "
        "rechazados (no firmados por el socio que indica el directorio).",
    ),
    "sync-handovers-held": Message(
        en="{held} handover packet(s) held, not sent: their partner is no longer in the site's "
        "service directory. The sealed packets are kept; run 'fieldscreen handover held' to "
        "send one again or discard it.",
        es="{held} paquete(s) de traspaso retenido(s), sin enviar: su socio ya no está en el "
        "directorio de servicios del sitio. Los paquetes sellados se conservan; ejecute "
        "'fieldscreen handover held' para enviar uno de nuevo o descartarlo.",
    ),
    "sync-outbox-state-changed": Message(
        en=(
            "{rows} entries of the sync queue had been moved to another state outside "
            "FieldScreen: they were queued again, to be sent with their sealed copy; nothing was "
            "deleted because of it, and the event is in the audit log. Tell your IT focal point."
        ),
        es=(
            "{rows} entradas de la cola de sincronización se habían pasado a otro estado fuera "
            "de FieldScreen: se pusieron de nuevo en cola para enviarse con su copia sellada; no "
            "se borró nada por ello y el hecho consta en el registro de auditoría. Avise a su "
            "referente de informática."
        ),
    ),
    "sync-summary": Message(
        en=(
            "{delivered} delivered, {conflicts} conflicts, {quarantined} quarantined, "
            "{rejected} refused, {unconfirmed} unconfirmed (the server's receipt did not name "
            "them: kept sealed here, sent again next time), {tampered} changed on this laptop "
            "after they were signed (held, not sent: tell IT), {updates} updates, "
            "{retries} retries."
        ),
        es=(
            "{delivered} entregados, {conflicts} en conflicto, {quarantined} en cuarentena, "
            "{rejected} rechazados, {unconfirmed} sin confirmar (el recibo del servidor no los "
            "nombra: se guardan sellados aquí y se envían de nuevo la próxima vez), {tampered} "
            "modificados en esta computadora después de firmarse (retenidos, no enviados: avise "
            "a informática), {updates} actualizaciones, {retries} reintentos."
        ),
    ),
    "settings-provisioning-refused": Message(
        en=(
            "The organisation's provisioning kept in this laptop's vault had been changed "
            "outside FieldScreen, so it was not used: the settings an admin approved stay in "
            "force, sync waits until an admin applies the provisioning file again, and the "
            "change was recorded in the audit log. Tell your supervisor or IT."
        ),
        es=(
            "El aprovisionamiento de la organización guardado en la bóveda de esta computadora "
            "se había cambiado fuera de FieldScreen, así que no se usó: siguen rigiendo los "
            "ajustes que aprobó un administrador, la sincronización espera a que un "
            "administrador vuelva a aplicar el archivo de aprovisionamiento, y el cambio quedó "
            "registrado en el registro de auditoría. Avise a la persona supervisora o a "
            "informática."
        ),
    ),
    "setting-unknown": Message(
        en="There is no setting called {name!r}.",
        es="No existe un ajuste llamado {name!r}.",
    ),
    "setting-invalid": Message(
        en="The value for {name!r} is not valid: {reason}",
        es="El valor de {name!r} no es válido: {reason}",
    ),
    "setting-locked": Message(
        en="{name!r} is set by your organisation and cannot be changed on this laptop.",
        es="{name!r} lo fija su organización y no se puede cambiar en esta computadora.",
    ),
    "settings-corrupt": Message(
        en=(
            "The settings file {path} could not be read and was set aside; defaults are in use. "
            "Check the settings before you continue."
        ),
        es=(
            "No se pudo leer el archivo de ajustes {path} y se apartó; se usan los valores "
            "predeterminados. Revise los ajustes antes de continuar."
        ),
    ),
    "disk-full": Message(
        en=(
            "The disk is full, so nothing was changed. Free some space (empty the Downloads "
            "folder or the recycle bin) and try again; your earlier answers are safe."
        ),
        es=(
            "El disco está lleno, así que no se cambió nada. Libere espacio (vacíe Descargas o "
            "la papelera) e inténtelo de nuevo; sus respuestas anteriores están a salvo."
        ),
    ),
    "io-error": Message(
        en="The disk reported an error, so nothing was changed ({detail}). Try again.",
        es="El disco informó un error, así que no se cambió nada ({detail}). Inténtelo de nuevo.",
    ),
    "passphrase-not-given": Message(
        en="No passphrase was given: the input ended before one was typed. Run the command in "
        "a terminal, or give {option} FILE.",
        es="No se dio ninguna frase de acceso: la entrada terminó antes de escribirla. Ejecute "
        "el comando en una terminal, o use {option} ARCHIVO.",
    ),
    "passphrase-file-unreadable": Message(
        en="The passphrase file {path} cannot be read.",
        es="No se puede leer el archivo de frase de acceso {path}.",
    ),
    "passphrase-confirm-differs": Message(
        en="The two passphrases typed differ, so nothing was created. Run the command again.",
        es="Las dos frases de acceso escritas no coinciden, así que no se creó nada. Ejecute "
        "el comando de nuevo.",
    ),
    "aggregate-invalid": Message(
        en="An aggregate record was refused: its field {field!r} is missing or not a plain code.",
        es="Se rechazó un registro agregado: su campo {field!r} falta o no es un código simple.",
    ),
    "aggregate-dimension-unknown": Message(
        en="There is no report dimension called {name!r}. Use one of: {known}.",
        es="No existe la dimensión de informe {name!r}. Use una de: {known}.",
    ),
    # ---- crypto (fieldscreen.crypto)
    "crypto-decrypt-failed": Message(
        en=(
            "The data could not be opened: the key or passphrase is wrong, or the data was "
            "changed or damaged. Nothing was changed; check the passphrase or key and try again."
        ),
        es=(
            "No se pudieron abrir los datos: la clave o la frase de acceso no es correcta, o los "
            "datos se alteraron o dañaron. No se cambió nada; revise la frase o la clave y vuelva "
            "a intentarlo."
        ),
    ),
    "crypto-bad-key": Message(
        en="A key has the wrong size or form, so nothing was encrypted. Check the key file.",
        es="Una clave tiene un tamaño o formato incorrecto; no se cifró nada. Revise el archivo.",
    ),
    "crypto-kdf-unavailable": Message(
        en=(
            "This installation cannot derive keys with Argon2id, so no vault is created or "
            "opened. Install the FieldScreen build from your organisation."
        ),
        es=(
            "Esta instalación no puede derivar claves con Argon2id, así que no se crea ni se "
            "abre ninguna bóveda. Instale la versión de FieldScreen de su organización."
        ),
    ),
    "crypto-kdf-too-weak": Message(
        en=(
            "The key-derivation settings are below the safe minimum (64 MiB, 3 passes), so "
            "they were refused. Use the default settings."
        ),
        es=(
            "Los ajustes de derivación de claves están por debajo del mínimo seguro (64 MiB, "
            "3 pasadas) y se rechazaron. Use los ajustes predeterminados."
        ),
    ),
    "crypto-kdf-params-invalid": Message(
        en="The stored key-derivation settings are damaged. Restore the file from a backup.",
        es="Los ajustes de derivación de claves guardados están dañados. Restaure una copia.",
    ),
    "crypto-protected-key-invalid": Message(
        en="The protected key file is not in a form FieldScreen knows. Check you chose the "
        "right file.",
        es="El archivo de clave protegida no tiene un formato que FieldScreen conozca. "
        "Compruebe que eligió el archivo correcto.",
    ),
    # ---- vault (fieldscreen.vault)
    "vault-unlock-failed": Message(
        en=(
            "The user name or passphrase is not right. Check both and try again; after "
            "several wrong tries each new try waits a little longer."
        ),
        es=(
            "El usuario o la frase de acceso no son correctos. Revise ambos e inténtelo de "
            "nuevo; tras varios intentos fallidos, cada intento espera un poco más."
        ),
    ),
    "vault-missing": Message(
        en=(
            "There is no vault in this profile yet. Start FieldScreen to create one, or "
            "choose the right folder with --profile."
        ),
        es=(
            "Todavía no hay una bóveda en este perfil. Abra FieldScreen para crearla, o elija"
            " la carpeta correcta con --profile."
        ),
    ),
    "vault-exists": Message(
        en=(
            "A vault already exists in this profile, so a new one was not created. Unlock the"
            " existing vault instead."
        ),
        es=(
            "Ya existe una bóveda en este perfil, así que no se creó otra. Desbloquee la "
            "bóveda existente."
        ),
    ),
    "vault-locked": Message(
        en="The vault is locked. Unlock it with your passphrase and try again.",
        es="La bóveda está bloqueada. Desbloquéela con su frase de acceso e inténtelo de nuevo.",
    ),
    "vault-damaged": Message(
        en=(
            "Part of the vault is damaged or was changed ({detail}), so it was not used. "
            "Nothing was changed; contact your IT focal point."
        ),
        es=(
            "Una parte de la bóveda está dañada o fue alterada ({detail}), así que no se usó."
            " No se cambió nada; contacte a su referente de informática."
        ),
    ),
    "vault-too-new": Message(
        en=(
            "This vault was written by a newer version of FieldScreen. Install the latest "
            "version and try again."
        ),
        es=(
            "Esta bóveda fue escrita por una versión más reciente de FieldScreen. Instale la "
            "última versión e inténtelo de nuevo."
        ),
    ),
    "vault-not-allowed": Message(
        en="Your role ({role}) cannot do this. Ask a coordinator or an admin.",
        es=(
            "Su rol ({role}) no permite hacer esto. Pídaselo a una coordinadora o a un "
            "administrador."
        ),
    ),
    "vault-user-exists": Message(
        en="There is already a user with that name on this laptop. Choose another name.",
        es="Ya hay un usuario con ese nombre en esta computadora. Elija otro nombre.",
    ),
    "vault-user-unknown": Message(
        en="There is no user with that name on this laptop. Check the name in the list of users.",
        es=(
            "No hay ningún usuario con ese nombre en esta computadora. Revise el nombre en la"
            " lista de usuarios."
        ),
    ),
    "vault-roster-invalid": Message(
        en=(
            "The list of users in the key file was changed without an admin's signature, or "
            "the key file is an old copy that no longer matches this vault, so the vault was "
            "not "
            "opened. Nothing was changed; contact your IT focal point."
        ),
        es=(
            "La lista de usuarios del archivo de claves se cambió sin la firma de un "
            "administrador, o el archivo de claves es una copia antigua que ya no corresponde a "
            "esta bóveda, así que no se abrió. No se cambió nada; contacte a su referente de TI."
        ),
    ),
    "vault-admin-key-missing": Message(
        en=(
            "This admin account holds no admin key (it was made before this vault's last "
            "upgrade), so it cannot change users or keys. Ask another admin to add it again."
        ),
        es=(
            "Esta cuenta de administrador no tiene clave de administración (se creó antes de la "
            "última actualización de esta bóveda), así que no puede cambiar usuarios ni claves. "
            "Pida a otro administrador que la vuelva a crear."
        ),
    ),
    "vault-account-reissue": Message(
        en=(
            "This account was made before this vault's last upgrade, so its passphrase cannot "
            "be changed here. Ask an admin to add the account again."
        ),
        es=(
            "Esta cuenta se creó antes de la última actualización de esta bóveda, así que su "
            "frase de acceso no se puede cambiar aquí. Pida a un administrador que vuelva a "
            "crear la cuenta."
        ),
    ),
    "vault-duress-is-a-passphrase": Message(
        en=(
            "That is already the passphrase of an account on this laptop, so it cannot be the "
            "duress passphrase. Choose another one."
        ),
        es=(
            "Esa ya es la frase de acceso de una cuenta de esta computadora, así que no puede "
            "ser la frase de coacción. Elija otra."
        ),
    ),
    "vault-last-admin": Message(
        en=(
            "That user cannot be removed: the laptop must keep at least one admin, and you "
            "cannot remove yourself. Add another admin first."
        ),
        es=(
            "No se puede quitar ese usuario: la computadora debe conservar al menos un "
            "administrador y no puede quitarse a sí mismo. Agregue antes otro administrador."
        ),
    ),
    "vault-login-invalid": Message(
        en=(
            "A user name may have letters, digits and . _ @ - only (at most 64). Choose "
            "another name."
        ),
        es=(
            "Un nombre de usuario solo puede tener letras, cifras y . _ @ - (hasta 64). Elija"
            " otro nombre."
        ),
    ),
    "vault-role-own": Message(
        en=(
            "You cannot change your own role. Another admin changes it; add another admin "
            "first if you are the only one."
        ),
        es=(
            "No puede cambiar su propio rol. Lo cambia otro administrador; si es el único, "
            "agregue antes otro administrador."
        ),
    ),
    "vault-role-unknown": Message(
        en="That role does not exist. Choose specialist, coordinator or admin.",
        es=(
            "Ese rol no existe. Elija especialista (specialist), coordinación (coordinator) o"
            " administración (admin)."
        ),
    ),
    "vault-passphrase-short": Message(
        en=(
            "The passphrase is too short. Use at least {minimum} characters; a few unrelated "
            "words are easy to remember."
        ),
        es=(
            "La frase de acceso es demasiado corta. Use al menos {minimum} caracteres; unas "
            "cuantas palabras sin relación son fáciles de recordar."
        ),
    ),
    "vault-record-unknown": Message(
        en=(
            "That screening is not on this laptop (it may have been sealed and removed). "
            "Check the case list."
        ),
        es=(
            "Ese tamizaje no está en esta computadora (puede haberse sellado y eliminado). "
            "Revise la lista de casos."
        ),
    ),
    "vault-record-state": Message(
        en=(
            "That screening is {state}, so this cannot be done with it. Open the case list to"
            " see what can be done."
        ),
        es=(
            "Ese tamizaje está en estado {state}, así que esto no se puede hacer. Abra la "
            "lista de casos para ver qué se puede hacer."
        ),
    ),
    "vault-form-id-invalid": Message(
        en=(
            "The form's id or version is not valid, so the screening was not started. "
            "Reinstall the form."
        ),
        es=(
            "El identificador o la versión del formulario no es válido; el tamizaje no se "
            "inició. Vuelva a instalar el formulario."
        ),
    ),
    "vault-no-org-key": Message(
        en=(
            "This laptop has no organisation key yet, so screenings cannot be sealed. Apply "
            "the provisioning file first ('fieldscreen provision FILE')."
        ),
        es=(
            "Esta computadora aún no tiene la clave de la organización, así que no se pueden "
            "sellar tamizajes. Aplique antes el archivo de aprovisionamiento ('fieldscreen"
            " provision ARCHIVO')."
        ),
    ),
    "vault-outbox-state": Message(
        en="The sync state given is not valid. This is a fault in the sync step; report it to IT.",
        es=(
            "El estado de sincronización indicado no es válido. Es una falla del paso de "
            "sincronización; infórmela a informática."
        ),
    ),
    "vault-wipe-unconfirmed": Message(
        en=(
            "Wipe destroys every screening on this laptop that has not been synced, for good."
            " Run the command again with --yes to confirm."
        ),
        es=(
            "El borrado destruye para siempre todos los tamizajes de esta computadora que "
            "no se sincronizaron. Ejecute el comando de nuevo con --yes para confirmar."
        ),
    ),
    "vault-travel-not-allowed": Message(
        en="Your organisation has switched travel mode off on this laptop. Ask your coordinator.",
        es=(
            "Su organización desactivó el modo viaje en esta computadora. Consulte a su "
            "coordinación."
        ),
    ),
    "vault-record-rolled-back": Message(
        en=(
            "This screening's stored copy is older than the one FieldScreen last saved: the "
            "vault file was changed outside FieldScreen (an older copy was put back). It was "
            "not opened or saved over, and nothing was deleted. Tell your IT focal point; the "
            "event is in the audit log."
        ),
        es=(
            "La copia guardada de este tamizaje es más antigua que la última que guardó "
            "FieldScreen: el archivo de la bóveda se cambió fuera de FieldScreen (se repuso una"
            " copia antigua). No se abrió ni se sobrescribió, y no se borró nada. Avise a su "
            "referente de informática; el hecho consta en el registro de auditoría."
        ),
    ),
    "vault-record-deleted": Message(
        en=(
            "This screening was removed from the vault file outside FieldScreen: FieldScreen "
            "saved it and it is no longer there. Nothing else was deleted. Tell your IT focal "
            "point; the event is in the audit log."
        ),
        es=(
            "Este tamizaje se quitó del archivo de la bóveda fuera de FieldScreen: "
            "FieldScreen lo guardó y ya no está. No se borró nada más. Avise a su referente de"
            " informática; el hecho consta en el registro de auditoría."
        ),
    ),
    "vault-record-altered": Message(
        en=(
            "This screening's stored copy is not the one FieldScreen last saved: the vault "
            "file was changed outside FieldScreen. It was not opened or saved over, and "
            "nothing was deleted. Tell your IT focal point; the event is in the audit log."
        ),
        es=(
            "La copia guardada de este tamizaje no es la última que guardó FieldScreen: el "
            "archivo de la bóveda se cambió fuera de FieldScreen. No se abrió ni se "
            "sobrescribió, y no se borró nada. Avise a su referente de informática; el hecho "
            "consta en el registro de auditoría."
        ),
    ),
    "vault-state-altered": Message(
        en=(
            "The vault file was changed outside FieldScreen: what is stored does not match "
            "what FieldScreen wrote (screenings and case cards: {rows}; audit log entries: "
            "{audit}). Nothing was deleted, and what cannot be checked is not opened. Tell "
            "your IT focal point; the event is in the audit log."
        ),
        es=(
            "El archivo de la bóveda se cambió fuera de FieldScreen: lo guardado no coincide con"
            " lo que escribió FieldScreen (tamizajes y fichas de caso: {rows}; entradas del "
            "registro de auditoría: {audit}). No se borró nada, y lo que no se puede comprobar "
            "no se abre. Avise a su referente de informática; el hecho consta en el registro "
            "de auditoría."
        ),
    ),
    "vault-outbox-repaired": Message(
        en=(
            "The sync queue was changed outside FieldScreen. {resealed} finalised screenings "
            "had lost their place in it: they were sealed again from the copy kept on this "
            "laptop and queued, so they still reach your team. {requeued} marked as sent "
            "without a receipt were queued again, and {restored} put back in the queue with "
            "nothing left to send were marked sent again. {missing} of screenings already purged "
            "here as planned are gone from it and cannot be sealed again: ask your team to "
            "check the server holds them. Tell your IT focal point; the event is in the audit "
            "log."
        ),
        es=(
            "La cola de sincronización se cambió fuera de FieldScreen. {resealed} tamizajes "
            "finalizados habían perdido su lugar en ella: se volvieron a sellar desde la copia "
            "guardada en esta computadora y se pusieron en cola, así que siguen llegando a su "
            "equipo. {requeued} marcadas como enviadas sin acuse de recibo se pusieron de nuevo"
            " en cola, y {restored} devueltas a la cola sin nada que enviar se marcaron de "
            "nuevo como enviadas. {missing} de tamizajes ya depurados aquí según lo "
            "previsto faltan en ella y no se pueden volver a sellar: pida a su equipo que "
            "compruebe que el servidor las tiene. Avise a su referente de informática; el "
            "hecho consta en el registro de auditoría."
        ),
    ),
    "vault-outbox-delivered-changed": Message(
        en=(
            "The sync queue's record of what this laptop already delivered was changed "
            "outside FieldScreen: {expected} delivered entries were there at the last check and "
            "{found} are there now, and {rows} entries were moved to another state. Every "
            "entry was checked again. The ones still holding their sealed copy were queued "
            "again, so they still reach your team; {resealed} finalised screenings whose sealed "
            "copy was removed were sealed again from the copy kept on this laptop, and "
            "{missing} already purged here as planned cannot be sealed again: ask your team to "
            "check the server holds them. Tell your IT focal point; the event is in the audit "
            "log."
        ),
        es=(
            "El registro de la cola de sincronización de lo que esta computadora ya entregó se "
            "cambió fuera de FieldScreen: en la última comprobación había {expected} entradas "
            "entregadas y ahora hay {found}, y {rows} entradas pasaron a otro estado. Se "
            "comprobaron de nuevo todas las entradas. Las que aún tenían su copia sellada se "
            "pusieron de nuevo en cola, así que siguen llegando a su equipo; {resealed} "
            "tamizajes finalizados cuya copia sellada se quitó se volvieron a sellar desde la "
            "copia guardada en esta computadora, y {missing} ya depurados aquí según lo previsto"
            " no se pueden volver a sellar: pida a su equipo que compruebe que el servidor los "
            "tiene. Avise a su referente de informática; el hecho consta en el registro de "
            "auditoría."
        ),
    ),
    "vault-outbox-state-changed": Message(
        en=(
            "The sync queue was changed outside FieldScreen while this laptop was locked: "
            "{rows} of its entries were moved to another state, not by this laptop's sync. "
            "The ones still holding their sealed copy were queued again, so they still reach "
            "your team; {resealed} finalised screenings whose sealed copy was removed were "
            "sealed again from the copy kept on this laptop, and {missing} already purged here "
            "as planned cannot be sealed again: ask your team to check the server holds them. "
            "Tell your IT focal point; the event is in the audit log."
        ),
        es=(
            "La cola de sincronización se cambió fuera de FieldScreen mientras esta computadora "
            "estaba bloqueada: {rows} de sus entradas pasaron a otro estado, no por la "
            "sincronización de esta computadora. Las que aún tenían su copia sellada se "
            "pusieron de nuevo en cola, así que siguen llegando a su equipo; {resealed} "
            "tamizajes finalizados cuya copia sellada se quitó se volvieron a sellar desde la "
            "copia guardada en esta computadora, y {missing} ya depurados aquí según lo previsto"
            " no se pueden volver a sellar: pida a su equipo que compruebe que el servidor los "
            "tiene. Avise a su referente de informática; el hecho consta en el registro de "
            "auditoría."
        ),
    ),
    "vault-org-key-unanchored": Message(
        en=(
            "The organisation's key kept in the vault is not the one an administrator "
            "approved: it was replaced outside FieldScreen. Nothing is sealed to it: "
            "screenings are still sealed to the key the administrator approved, so none can "
            "reach anyone else. Ask an administrator to apply your organisation's "
            "provisioning file again. The event is in the audit log."
        ),
        es=(
            "La clave de la organización guardada en la bóveda no es la que aprobó un "
            "administrador: se sustituyó fuera de FieldScreen. No se sella nada con ella: los "
            "tamizajes se siguen sellando con la clave que aprobó el administrador, así que "
            "ninguna puede llegar a otra persona. Pida a un administrador que vuelva a aplicar "
            "el archivo de aprovisionamiento de su organización. El hecho consta en el "
            "registro de auditoría."
        ),
    ),
    "vault-key-entry-damaged": Message(
        en=(
            "The key file's entries of these accounts were changed outside FieldScreen: "
            "{logins}. They will not be able to sign in with them. An administrator can "
            "repair it: remove each account and add it again (or, for the duress entry, set "
            "the duress passphrase again), or rotate the keys (Settings, Rotate keys now). "
            "Nothing else is affected; the event is in the audit log."
        ),
        es=(
            "Las entradas de estas cuentas en el archivo de claves se cambiaron fuera de "
            "FieldScreen: {logins}. No podrán iniciar sesión con ellas. Un administrador puede "
            "repararlo: quitar cada cuenta y volver a añadirla (o, para la entrada de coacción, "
            "volver a poner la frase de coacción), o cambiar las claves (Ajustes, Cambiar las "
            "claves ahora). No se ve afectado nada más; el hecho consta en el registro de "
            "auditoría."
        ),
    ),
    "vault-state-restored": Message(
        en=(
            "Values FieldScreen keeps about this laptop were changed outside FieldScreen "
            "({names}). They were put back from the copy kept encrypted in the vault, and "
            "nothing was deleted. Tell your IT focal point; the event is in the audit log."
        ),
        es=(
            "Se cambiaron fuera de FieldScreen valores que FieldScreen guarda sobre esta "
            "computadora ({names}). Se restauraron desde la copia guardada cifrada en la bóveda, "
            "y no se borró nada. Avise a su referente de informática; el hecho consta en el "
            "registro de auditoría."
        ),
    ),
    "vault-audit-broken": Message(
        en=(
            "The audit log was changed outside FieldScreen: its chain breaks at entry {seq} "
            "(an entry was removed, edited or moved there). The {shown} entries before it "
            "check; from there on the log cannot be trusted, so it is not shown as whole. "
            "Nothing was deleted. Tell your IT focal point; the event is in the audit log."
        ),
        es=(
            "El registro de auditoría se cambió fuera de FieldScreen: su cadena se rompe en la "
            "entrada {seq} (allí se quitó, editó o movió una entrada). Las {shown} entradas "
            "anteriores se comprueban; desde allí no se puede confiar en el registro, así que "
            "no se muestra como completo. No se borró nada. Avise a su referente de "
            "informática; el hecho consta en el registro de auditoría."
        ),
    ),
    "vault-secrets-altered": Message(
        en=(
            "Settings FieldScreen keeps encrypted in the vault were removed or replaced with "
            "an older copy outside FieldScreen ({names}). They are not read as never set: the "
            "policies your organisation approved stay in force, and nothing was deleted. Tell "
            "your IT focal point; the event is in the audit log."
        ),
        es=(
            "Se quitaron o se sustituyeron por una copia anterior, fuera de FieldScreen, "
            "ajustes que FieldScreen guarda cifrados en la bóveda ({names}). No se leen como "
            "si nunca se hubieran puesto: siguen vigentes las políticas que aprobó su "
            "organización, y no se borró nada. Avise a su referente de informática; el hecho "
            "consta en el registro de auditoría."
        ),
    ),
    "form-invalid": Message(
        en="{location}: {detail}",
        es="{location}: {detail} (corrija el formulario y vuelva a validarlo)",
    ),
    "form-invalid-pyxform": Message(
        en="{location}: {detail}",
        es="{location}: pyxform, que lee el formulario, dice (en inglés): {detail} (corrija el "
        "formulario y vuelva a validarlo)",
    ),
    "form-file-unreadable": Message(
        en="The form file {path} cannot be read ({detail}). Check the path and the file type "
        "(.xlsx or .md).",
        es="No se puede leer el archivo de formulario {path} ({detail}). Revise la ruta y el "
        "tipo de archivo (.xlsx o .md).",
    ),
    "form-answer-invalid": Message(
        en="The answer to {field!r} is not valid: it must be {expected}. Correct it and go on.",
        es="La respuesta a {field!r} no es válida: debe ser {expected}. Corríjala y continúe.",
    ),
    "form-attachment-too-large": Message(
        en="This file is {size} MB: a screening keeps files of at most {limit} MB each and "
        "{total} MB together ({held} MB are attached already). Attach a smaller photo or scan "
        "(a lower resolution still shows a document), or remove another file first.",
        es="Este archivo ocupa {size} MB: un tamizaje guarda archivos de {limit} MB como "
        "máximo cada uno y {total} MB en total (ya hay {held} MB adjuntos). Adjunte una foto o "
        "un escaneo más pequeño (con menos resolución el documento se sigue leyendo), o quite "
        "antes otro archivo.",
    ),
    "form-answers-unreadable": Message(
        en="The answers file {path} cannot be read ({detail}). It must be a JSON object of "
        "field name to value.",
        es="No se puede leer el archivo de respuestas {path} ({detail}). Debe ser un objeto "
        "JSON de nombre de campo a valor.",
    ),
    "form-version-mismatch": Message(
        en=(
            "This screening was started on version {saved} of form {form_id}, but version "
            "{loaded} is installed. Resume it with version {saved}, or migrate it explicitly."
        ),
        es=(
            "Este tamizaje se inició con la versión {saved} del formulario {form_id}, pero "
            "está instalada la versión {loaded}. Continúela con la versión {saved} o mígrela "
            "explícitamente."
        ),
    ),
    "form-state-invalid": Message(
        en="The saved answers of form {form_id} are damaged and cannot be resumed ({detail}).",
        es="Las respuestas guardadas del formulario {form_id} están dañadas y no se pueden "
        "retomar ({detail}).",
    ),
    "form-override-tier": Message(
        en="Choose a risk tier from T0 (act now) to T4 (no current risk).",
        es="Elija un nivel de riesgo de T0 (actuar ya) a T4 (sin riesgo actual).",
    ),
    "form-override-reason": Message(
        en="The risk tier can be changed only with a reason. Write the reason and try again.",
        es="El nivel de riesgo solo se puede cambiar con un motivo. Escriba el motivo e "
        "inténtelo de nuevo.",
    ),
    "form-override-supervisor": Message(
        en=(
            "The risk tier can be changed only with a supervisor's sign-off, and not by the "
            "person who screened. Ask your supervisor to sign off."
        ),
        es=(
            "El nivel de riesgo solo se puede cambiar con la aprobación de una persona "
            "supervisora que no sea quien hizo el tamizaje. Pida esa aprobación a la persona "
            "supervisora."
        ),
    ),
    "self-test-failed": Message(
        en="The self-test failed at step {step!r}: {detail}",
        es="La autoprueba falló en el paso {step!r}: {detail}",
    ),
    # ---------------------------------------------------------------- sync (device and server)
    "sync-unreachable": Message(
        en=(
            "The server {url} could not be reached. Finalised screenings stay queued and are "
            "sent when the connection comes back; check the network and try again."
        ),
        es=(
            "No se pudo contactar el servidor {url}. Los tamizajes finalizados siguen en cola "
            "y se enviarán cuando vuelva la conexión; revise la red e inténtelo de nuevo."
        ),
    ),
    "sync-insecure-url": Message(
        en=(
            "The server address {url} does not use https, so nothing was sent. Ask IT for the "
            "https address of the server."
        ),
        es=(
            "La dirección del servidor {url} no usa https, así que no se envió nada. Pida a "
            "informática la dirección https del servidor."
        ),
    ),
    "sync-refused": Message(
        en="The server refused the request ({status}: {reason}). Ask IT to check this laptop.",
        es=(
            "El servidor rechazó la solicitud ({status}: {reason}). Pida a informática que "
            "revise esta computadora."
        ),
    ),
    "sync-busy": Message(
        en="The server is busy and asked to wait {seconds} s. Sync will try again by itself.",
        es="El servidor está ocupado y pidió esperar {seconds} s. Se reintentará solo.",
    ),
    "sync-protocol": Message(
        en=(
            "The server's answer could not be understood ({detail}). Update FieldScreen or ask "
            "IT to check the server."
        ),
        es=(
            "No se pudo entender la respuesta del servidor ({detail}). Actualice FieldScreen o "
            "pida a informática que revise el servidor."
        ),
    ),
    "sync-not-provisioned": Message(
        en=(
            "This laptop has not been set up for an organisation yet. Apply the provisioning "
            "file from IT with 'fieldscreen provision FILE'."
        ),
        es=(
            "Esta computadora aún no está configurada para una organización. Aplique el archivo "
            "de aprovisionamiento de informática con 'fieldscreen provision ARCHIVO'."
        ),
    ),
    "sync-not-enrolled": Message(
        en=(
            "This laptop is not enrolled with the server yet. Ask the admin for an enrolment "
            "code and run 'fieldscreen enroll --code CODE'."
        ),
        es=(
            "Esta computadora aún no está inscrita en el servidor. Pida un código de inscripción "
            "al administrador y ejecute 'fieldscreen enroll --code CÓDIGO'."
        ),
    ),
    "sync-enrol-code": Message(
        en="The enrolment code is not valid, has expired or was used. Ask the admin for a new one.",
        es=(
            "El código de inscripción no es válido, caducó o ya se usó. Pida uno nuevo al "
            "administrador."
        ),
    ),
    "sync-revoked": Message(
        en=(
            "This laptop was withdrawn by your organisation and can no longer sync. Contact your "
            "coordinator."
        ),
        es=(
            "Su organización retiró esta computadora y ya no puede sincronizar. Contacte a su "
            "coordinador."
        ),
    ),
    "sync-bad-signature": Message(
        en=(
            "The {what} is not signed by your organisation, so it was not used. Get a fresh copy "
            "from IT."
        ),
        es=(
            "El {what} no está firmado por su organización, así que no se usó. Pida una copia "
            "nueva a informática."
        ),
    ),
    "sync-receipt-refused": Message(
        en=(
            "The server's receipt could not be trusted ({reason}), so nothing was removed from "
            "this laptop: every record stays sealed here until a genuine receipt names it. "
            "Tell IT."
        ),
        es=(
            "No se pudo confiar en el recibo del servidor ({reason}), así que no se quitó nada "
            "de esta computadora: cada registro sigue sellado aquí hasta que un recibo "
            "auténtico lo nombre. Avise a informática."
        ),
    ),
    "sync-bad-file": Message(
        en="The file {path} is not a valid {what} ({reason}). Nothing was changed.",
        es="El archivo {path} no es un {what} válido ({reason}). No se cambió nada.",
    ),
    "sync-envelope-invalid": Message(
        en="A sealed screening is malformed ({reason}) and was set aside. Tell IT.",
        es="Un tamizaje sellado está dañado ({reason}) y se apartó. Avise a informática.",
    ),
    "server-database": Message(
        en=(
            "The server database could not be opened ({detail}). Check the --db address and "
            "that the database is running."
        ),
        es=(
            "No se pudo abrir la base de datos del servidor ({detail}). Revise la dirección "
            "--db y que la base de datos esté en marcha."
        ),
    ),
    "server-not-initialised": Message(
        en=(
            "The server has no organisation keys yet. Run 'fieldscreen-server init-org --out "
            "DIR' first."
        ),
        es=(
            "El servidor aún no tiene claves de la organización. Ejecute primero "
            "'fieldscreen-server init-org --out CARPETA'."
        ),
    ),
    "provision-lock-range": Message(
        en="{name} must be between {low} and {high} minutes; a laptop would refuse {value}.",
        es="{name} debe estar entre {low} y {high} minutos; una computadora rechazaría {value}.",
    ),
    "provision-interview-lock-shorter": Message(
        en=(
            "--interview-lock-minutes ({interview}) is shorter than --auto-lock-minutes "
            "({auto}): the lock during an interview is never shorter than the usual one, so it "
            "would never apply. Give at least {auto}."
        ),
        es=(
            "--interview-lock-minutes ({interview}) es menor que --auto-lock-minutes ({auto}): "
            "el bloqueo durante una entrevista nunca es más corto que el habitual, así que no se "
            "aplicaría nunca. Indique al menos {auto}."
        ),
    ),
    "server-key-file": Message(
        en=(
            "The key file {path} cannot be opened: it is missing, damaged or the passphrase is "
            "wrong."
        ),
        es=(
            "No se puede abrir el archivo de clave {path}: falta, está dañado o la frase de "
            "acceso es incorrecta."
        ),
    ),
    "server-provisioning-secret": Message(
        en=(
            "This provisioning document carries the organisation's match secret, which must "
            "never reach the server. Publish one written without --match-secret; give the "
            "secret only in the file the installer brings."
        ),
        es=(
            "Este documento de aprovisionamiento lleva el secreto de coincidencias de la "
            "organización, que nunca debe llegar al servidor. Publique uno escrito sin "
            "--match-secret; entregue el secreto solo en el archivo que trae el instalador."
        ),
    ),
    "server-match-role": Message(
        en=(
            "Possible matches between screenings are shown to coordinators only (and to the "
            "server's administrators)."
        ),
        es=(
            "Las posibles coincidencias entre tamizajes solo se muestran a coordinadores "
            "(y a los administradores del servidor)."
        ),
    ),
    "server-out-exists": Message(
        en="{path} already holds keys; choose an empty folder so no key is overwritten.",
        es="{path} ya contiene claves; elija una carpeta vacía para no sobrescribir ninguna.",
    ),
    "server-port-in-use": Message(
        en="Port {port} on {host} is already in use: another server (an earlier "
        "fieldscreen-server?) is listening there. Stop it, or choose another --port.",
        es="El puerto {port} en {host} ya está en uso: otro servidor (¿un fieldscreen-server "
        "anterior?) escucha ahí. Deténgalo o elija otro --port.",
    ),
    "server-address-bad": Message(
        en="The server cannot listen on {host}:{port} ({reason}). Check --host (an address of "
        "this machine, such as 127.0.0.1) and --port.",
        es="El servidor no puede escuchar en {host}:{port} ({reason}). Revise --host (una "
        "dirección de esta máquina, como 127.0.0.1) y --port.",
    ),
    "server-passphrase-weak": Message(
        en="The passphrase must have at least {minimum} characters and both entries must match.",
        es=(
            "La frase de acceso debe tener al menos {minimum} caracteres y las dos entradas "
            "deben coincidir."
        ),
    ),
    "server-partner-unknown": Message(
        en="No published service directory names a partner {partner!r} with its keys (or it "
        "was revoked). Publish the directory that names it first ('fieldscreen-server "
        "publish-directory').",
        es="Ningún directorio de servicios publicado incluye al socio {partner!r} con sus claves "
        "(o fue revocado). Publique primero el directorio que lo incluye ('fieldscreen-server "
        "publish-directory').",
    ),
    "server-handover-unknown": Message(
        en="The server holds no handover packet {packet} for this partner.",
        es="El servidor no tiene el paquete de traspaso {packet} para este socio.",
    ),
    "server-handover-conflict": Message(
        en="The server already holds another handover packet under the id {packet}.",
        es="El servidor ya tiene otro paquete de traspaso con el id {packet}.",
    ),
    "server-handover-unsigned": Message(
        en="The handover packet is not signed by the key of an active device the server "
        "knows (for a coordinator, of one of their sites), so it was not kept.",
        es="El paquete de traspaso no está firmado con la clave de un dispositivo activo que "
        "el servidor conozca (para un(a) coordinador(a), de uno de sus sitios), así que no se "
        "guardó.",
    ),
    "server-handover-too-large": Message(
        en="The handover packet is larger than the server keeps ({limit} bytes).",
        es="El paquete de traspaso es más grande de lo que guarda el servidor ({limit} bytes).",
    ),
    "server-handover-quota": Message(
        en="This device already has {limit} handover packets on the server that no partner "
        "has acknowledged; the packet stays queued until some are.",
        es="Esta computadora ya tiene {limit} paquetes de traspaso en el servidor sin acuse "
        "de recibo de un socio; el paquete queda en cola hasta que lleguen.",
    ),
    "server-handover-ack-forged": Message(
        en="The acknowledgement of packet {packet} is not signed by the partner's key for the "
        "packet the server holds, so it was refused.",
        es="El acuse de recibo del paquete {packet} no está firmado con la clave del socio para "
        "el paquete que tiene el servidor, así que se rechazó.",
    ),
    "server-device-unknown": Message(
        en="There is no device {device}. See 'fieldscreen-server devices list'.",
        es="No existe el dispositivo {device}. Vea 'fieldscreen-server devices list'.",
    ),
    "server-passphrase-needed": Message(
        en=(
            "The server's passphrase is needed to unlock its receipt key. Give "
            "--passphrase-file FILE or set FIELDSCREEN_SERVER_PASSPHRASE_FILE to that file (a "
            "prompt works only for one process on a terminal)."
        ),
        es=(
            "Se necesita la frase de acceso del servidor para desbloquear su clave de recibos. "
            "Indique --passphrase-file ARCHIVO o ponga FIELDSCREEN_SERVER_PASSPHRASE_FILE con "
            "ese archivo (la pregunta en pantalla solo sirve para un proceso en una terminal)."
        ),
    ),
    "server-passphrase-wrong": Message(
        en=(
            "The server's passphrase is wrong: the receipt key did not open. Nothing was "
            "changed. Use the passphrase last set with 'fieldscreen-server passphrase'."
        ),
        es=(
            "La frase de acceso del servidor es incorrecta: la clave de recibos no se abrió. No "
            "se cambió nada. Use la frase fijada por última vez con 'fieldscreen-server "
            "passphrase'."
        ),
    ),
    "server-locked": Message(
        en=(
            "The server's receipt key is locked, so no receipt can be signed. Start the server "
            "with its passphrase (--passphrase-file FILE)."
        ),
        es=(
            "La clave de recibos del servidor está bloqueada, así que no se puede firmar ningún "
            "recibo. Inicie el servidor con su frase de acceso (--passphrase-file ARCHIVO)."
        ),
    ),
    "server-receipt-key-missing": Message(
        en=(
            "The server has no receipt key yet. Set the server's passphrase first with "
            "'fieldscreen-server passphrase' (or start 'serve' once with it)."
        ),
        es=(
            "El servidor aún no tiene clave de recibos. Fije primero la frase de acceso del "
            "servidor con 'fieldscreen-server passphrase' (o inicie 'serve' una vez con ella)."
        ),
    ),
    "server-audit-chain": Message(
        en=(
            "The server's audit log was changed outside FieldScreen: entry {entry} does not "
            "follow entry {after} (an entry was deleted, inserted or moved there). Keep this "
            "database as evidence and restore the server from a backup."
        ),
        es=(
            "El registro de auditoría del servidor se cambió fuera de FieldScreen: la entrada "
            "{entry} no sigue a la entrada {after} (ahí se borró, insertó o movió una entrada). "
            "Guarde esta base de datos como prueba y restaure el servidor desde una copia."
        ),
    ),
    "server-audit-edited": Message(
        en=(
            "The server's audit log was changed outside FieldScreen: entry {entry} no longer "
            "matches its hash (its time, actor, action or detail was edited). Keep this "
            "database as evidence and restore the server from a backup."
        ),
        es=(
            "El registro de auditoría del servidor se cambió fuera de FieldScreen: la entrada "
            "{entry} ya no coincide con su hash (se editó su hora, autor, acción o detalle). "
            "Guarde esta base de datos como prueba y restaure el servidor desde una copia."
        ),
    ),
    "server-audit-signature": Message(
        en=(
            "The server's audit log was changed outside FieldScreen: the checkpoint at entry "
            "{entry} is not signed by the server's receipt key. Keep this database as evidence "
            "and restore the server from a backup."
        ),
        es=(
            "El registro de auditoría del servidor se cambió fuera de FieldScreen: el punto de "
            "control de la entrada {entry} no está firmado por la clave de recibos del "
            "servidor. Guarde esta base de datos como prueba y restaure el servidor desde una "
            "copia."
        ),
    ),
    "server-audit-head": Message(
        en=(
            "The server's audit log was changed outside FieldScreen: entry {entry}, recorded "
            "by an earlier check, is missing or different (the newest entries were removed). "
            "Keep this database as evidence and restore the server from a backup."
        ),
        es=(
            "El registro de auditoría del servidor se cambió fuera de FieldScreen: la entrada "
            "{entry}, anotada por una revisión anterior, falta o es distinta (se quitaron las "
            "entradas más recientes). Guarde esta base de datos como prueba y restaure el "
            "servidor desde una copia."
        ),
    ),
    "server-audit-unanchored": Message(
        en=(
            "The {count} newest audit entries (after entry {anchored}) are chained but no "
            "checkpoint signed by the receipt key covers them yet. Run 'fieldscreen-server "
            "audit checkpoint' with the server's passphrase, or start 'serve'."
        ),
        es=(
            "Las {count} entradas de auditoría más recientes (después de la entrada {anchored}) "
            "están encadenadas, pero aún no las cubre ningún punto de control firmado por la "
            "clave de recibos. Ejecute 'fieldscreen-server audit checkpoint' con la frase de "
            "acceso del servidor, o inicie 'serve'."
        ),
    ),
    "server-audit-head-bad": Message(
        en="--expect-head takes ID:HASH as printed by 'audit verify' (got {value}).",
        es="--expect-head recibe ID:HASH tal como lo muestra 'audit verify' (se recibió {value}).",
    ),
    "server-receipt-key-damaged": Message(
        en=(
            "The receipt key stored in the server's database is damaged and cannot be opened. "
            "Restore the database from a backup."
        ),
        es=(
            "La clave de recibos guardada en la base de datos del servidor está dañada y no se "
            "puede abrir. Restaure la base de datos desde una copia de seguridad."
        ),
    ),
    "server-file-mode-tightened": Message(
        en=(
            "{path} could be read by other users of this machine (mode {mode}); it is now "
            "readable by the server's user only (0600). Check who could read it before."
        ),
        es=(
            "Otros usuarios de esta máquina podían leer {path} (modo {mode}); ahora solo lo "
            "puede leer el usuario del servidor (0600). Revise quién pudo leerlo antes."
        ),
    ),
    "server-file-mode-loose": Message(
        en=(
            "{path} is open to other users of this machine ({mode}) and the server cannot "
            "change that. Run the server as the file's owner, or 'chmod 600' the file."
        ),
        es=(
            "{path} está abierto a otros usuarios de esta máquina ({mode}) y el servidor no "
            "puede cambiarlo. Ejecute el servidor como dueño del archivo, o 'chmod 600' al "
            "archivo."
        ),
    ),
    "device-provisioning-key-changed": Message(
        en=(
            "This provisioning file is signed by a different organisation key than the one this "
            "laptop trusts, so it was not used. Ask IT for a file signed with your "
            "organisation's key."
        ),
        es=(
            "Este archivo de aprovisionamiento está firmado con una clave de organización "
            "distinta de la que esta computadora reconoce, así que no se usó. Pida a TI un "
            "archivo firmado con la clave de su organización."
        ),
    ),
    "device-provisioning-not-newer": Message(
        en=(
            "This provisioning file is not the one an admin approved on this laptop, nor a "
            "later one from your organisation, so it was not used. An admin can apply it."
        ),
        es=(
            "Este archivo de aprovisionamiento no es el que un administrador aprobó en esta "
            "computadora ni uno posterior de su organización, así que no se usó. Un "
            "administrador puede aplicarlo."
        ),
    ),
    "device-match-unknown": Message(
        en=(
            "The server names no such earlier screening for this case. Run 'fieldscreen "
            "matches' to see the matches it names, then link one of them."
        ),
        es=(
            "El servidor no indica ese tamizaje anterior para este caso. Ejecute "
            "'fieldscreen matches' para ver las coincidencias que indica y vincule una de ellas."
        ),
    ),
    "device-no-provisioning-file": Message(
        en=(
            "No provisioning file was found. Put the file from IT beside the app or give its "
            "path: fieldscreen provision FILE."
        ),
        es=(
            "No se encontró el archivo de aprovisionamiento. Ponga el archivo de TI junto a la "
            "aplicación o indique su ruta: fieldscreen provision ARCHIVO."
        ),
    ),
    # ---- the central team's export and reports (fieldscreen.reports)
    "export-profile-unknown": Message(
        en="There is no export profile {profile!r}. Use full, deidentified or recipient:<code>.",
        es="No existe el perfil de exportación {profile!r}. Use full, deidentified o "
        "recipient:<código>.",
    ),
    "export-format-unknown": Message(
        en="There is no export format {format!r}. Use csv, xlsx or json.",
        es="No existe el formato de exportación {format!r}. Use csv, xlsx o json.",
    ),
    "export-pack-invalid": Message(
        en="This export file does not open: the export passphrase is wrong or the file is "
        "damaged. Check the passphrase, or export again.",
        es="Este archivo de exportación no se abre: la frase de exportación es incorrecta o el "
        "archivo está dañado. Revise la frase o exporte de nuevo.",
    ),
    "export-passphrase-weak": Message(
        en="An identifiable export needs an export passphrase of at least {minimum} characters "
        "(different from the key's). Choose a longer one.",
        es="Una exportación identificable necesita una frase de exportación de al menos "
        "{minimum} caracteres (distinta de la de la clave). Elija una más larga.",
    ),
    "aggregate-threshold-low": Message(
        en="The suppression threshold must be at least {minimum}. Use a larger --threshold.",
        es="El umbral de supresión debe ser al menos {minimum}. Use un --threshold mayor.",
    ),
    "export-forms-folder": Message(
        en="The forms folder {path} cannot be read. Give a folder that holds the older form "
        "files (.md or .xlsx) with --forms.",
        es="No se puede leer la carpeta de formularios {path}. Indique con --forms una carpeta "
        "que contenga los archivos de formularios anteriores (.md o .xlsx).",
    ),
    "case-event-type-unknown": Message(
        en="There is no case event {type!r}. Use follow-up, referral, service-reached, moved, "
        "left or closed.",
        es="No existe el evento de caso {type!r}. Use follow-up, referral, service-reached, "
        "moved, left o closed.",
    ),
    "case-event-reason-needed": Message(
        en="A case is closed with its reason. Give one with --reason (stabilised, transferred, "
        "returned, reunified, aged-out, lost-contact or other).",
        es="Un caso se cierra con su motivo. Indíquelo con --reason (stabilised, transferred, "
        "returned, reunified, aged-out, lost-contact u other).",
    ),
    "case-event-reason-unknown": Message(
        en="There is no reason {reason!r} to close a case. Use stabilised, transferred, "
        "returned, reunified, aged-out, lost-contact or other.",
        es="No existe el motivo {reason!r} para cerrar un caso. Use stabilised, transferred, "
        "returned, reunified, aged-out, lost-contact u other.",
    ),
    "case-event-note-long": Message(
        en="The note is too long: at most {limit} characters. Shorten it.",
        es="La nota es demasiado larga: como máximo {limit} caracteres. Acórtela.",
    ),
    "handover-server": Message(
        en="The server did not answer as expected ({status}). Check its address and the "
        "partner token, and try again.",
        es="El servidor no respondió como se esperaba ({status}). Revise su dirección y el "
        "token del socio, e intente de nuevo.",
    ),
    "handover-not-enrolled": Message(
        en="This laptop is not enrolled with a server, so a packet cannot go through one. "
        "Write it to a file with --out, or enrol first ('fieldscreen enroll').",
        es="Esta computadora no está inscrita en un servidor, así que un paquete no puede ir por "
        "él. Guárdelo en un archivo con --out, o inscríbala primero ('fieldscreen enroll').",
    ),
    "handover-usage": Message(
        en="Use 'fieldscreen handover CASE --to PARTNER --out FILE' (or '--send', through the "
        "server) to make a packet, 'fieldscreen handover ack ACKFILE' to apply a partner's "
        "acknowledgement, or 'fieldscreen handover held' for the packets held for a withdrawn "
        "partner.",
        es="Use 'fieldscreen handover CASO --to SOCIO --out ARCHIVO' (o '--send', por el "
        "servidor) para crear un paquete, 'fieldscreen handover ack ARCHIVO' para aplicar el "
        "acuse de recibo de un socio, o 'fieldscreen handover held' para los paquetes "
        "retenidos de un socio retirado.",
    ),
    "handover-partner-unknown": Message(
        en="The service directory names no partner {partner!r}. Sync, or ask the central team "
        "to add the partner and its keys to the directory.",
        es="El directorio de servicios no incluye al socio {partner!r}. Sincronice, o pida al "
        "equipo central que agregue el socio y sus claves al directorio.",
    ),
    "handover-partner-no-keys": Message(
        en="The partner {partner!r} has no keys in the service directory, so it cannot receive "
        "a handover. Ask the central team to add its public keys.",
        es="El socio {partner!r} no tiene claves en el directorio de servicios, así que no puede "
        "recibir un traspaso. Pida al equipo central que agregue sus claves públicas.",
    ),
    "handover-not-consented": Message(
        en="The child did not consent to share with this recipient ({recipient}), so no packet "
        "was made. Only a coordinator can release it, with a reason (--release).",
        es="La niña o el niño no consintió compartir con este destinatario ({recipient}), así "
        "que no se creó ningún paquete. Solo un(a) coordinador(a) puede autorizarlo, con un "
        "motivo (--release).",
    ),
    "handover-withheld": Message(
        en="A rule of this case holds back the recipient {recipient} (for example, the child "
        "fears the state), so no packet was made. Only a coordinator can release it, with a "
        "reason (--release).",
        es="Una regla de este caso retiene al destinatario {recipient} (por ejemplo, la niña o "
        "el niño teme al Estado), así que no se creó ningún paquete. Solo un(a) coordinador(a) "
        "puede autorizarlo, con un motivo (--release).",
    ),
    "handover-release-role": Message(
        en="Only a coordinator or an admin can release a handover without the child's "
        "consent. Ask one to sign in and make the packet.",
        es="Solo un(a) coordinador(a) o administrador(a) puede autorizar un traspaso sin el "
        "consentimiento de la niña o el niño. Pida a una de esas personas que inicie sesión y "
        "cree el paquete.",
    ),
    "handover-packet-tampered": Message(
        en="The handover packet {name} is damaged or was changed after it was signed, so it was "
        "not opened. Ask the sender for a fresh packet.",
        es="El paquete de traspaso {name} está dañado o se modificó después de firmarse, así que "
        "no se abrió. Pida al remitente un paquete nuevo.",
    ),
    "handover-wrong-key": Message(
        en="The handover packet {name} is sealed to another partner ({partner}), not to this "
        "key, so it cannot be opened here.",
        es="El paquete de traspaso {name} está sellado para otro socio ({partner}), no para esta "
        "clave, así que no se puede abrir aquí.",
    ),
    "handover-key-file-bad": Message(
        en="The key file {name} is not a partner key file made by 'fieldscreen-partner keygen'. "
        "Give the file keygen wrote.",
        es="El archivo de claves {name} no es un archivo de claves de socio creado con "
        "'fieldscreen-partner keygen'. Indique el archivo que generó keygen.",
    ),
    "handover-passphrase-needed": Message(
        en="The key file needs a passphrase of at least 8 characters: give it at the prompt "
        "(twice for keygen, the same both times) or on the first line of --passphrase-file.",
        es="El archivo de claves necesita una frase de acceso de al menos 8 caracteres: "
        "escríbala cuando se le pida (dos veces en keygen, igual las dos) o en la primera línea "
        "de --passphrase-file.",
    ),
    "handover-key-passphrase": Message(
        en="The passphrase does not open the key file {name}. Check it and try again.",
        es="La frase de acceso no abre el archivo de claves {name}. Revísela e intente de nuevo.",
    ),
    "handover-ack-forged": Message(
        en="The acknowledgement {name} is not signed by the partner the service directory "
        "names, so it was refused. Ask the partner to send it again.",
        es="El acuse de recibo {name} no está firmado por el socio que indica el directorio de "
        "servicios, así que se rechazó. Pida al socio que lo envíe de nuevo.",
    ),
    "handover-ack-unknown": Message(
        en="The acknowledgement {name} answers no handover made on this laptop. Apply it on the "
        "laptop that made the packet.",
        es="El acuse de recibo {name} no corresponde a ningún traspaso hecho en esta "
        "computadora. Aplíquelo en la computadora que creó el paquete.",
    ),
    "handover-not-held": Message(
        en="No handover packet {packet!r} is held on this laptop. 'fieldscreen handover held' "
        "lists those that are.",
        es="En esta computadora no hay ningún paquete de traspaso retenido {packet!r}. "
        "'fieldscreen handover held' muestra los que hay.",
    ),
    "handover-device-not-listed": Message(
        en="The service directory this laptop holds does not list it ({device}) among the "
        "organisation's devices, so a partner would refuse its packet. Sync; if it still "
        "fails, ask the central team to publish the site's directory again "
        "('fieldscreen-server publish-directory' lists the enrolled laptops).",
        es="El directorio de servicios que tiene esta computadora no la incluye ({device}) entre "
        "los dispositivos de la organización, así que un socio rechazaría su paquete. "
        "Sincronice; si sigue fallando, pida al equipo central que publique de nuevo el "
        "directorio del sitio ('fieldscreen-server publish-directory' incluye las computadoras "
        "inscritas).",
    ),
    "handover-device-unknown": Message(
        en="The handover packet {name} is signed by a device ({device}) that the organisation "
        "does not list with that key, so it was not opened. It may be forged, or come from a "
        "revoked laptop. Tell the organisation's central team.",
        es="El paquete de traspaso {name} está firmado por un dispositivo ({device}) que la "
        "organización no reconoce con esa clave, así que no se abrió. Puede ser falso o venir "
        "de una computadora revocada. Avise al equipo central de la organización.",
    ),
    "handover-device-withdrawn": Message(
        en="The handover packet {name} comes from a laptop ({device}) that the organisation's "
        "newer service directory (version {version}) no longer lists, so it was not opened: "
        "the laptop was revoked since. Tell the organisation's central team.",
        es="El paquete de traspaso {name} viene de una computadora ({device}) que el directorio "
        "de servicios más reciente de la organización (versión {version}) ya no incluye, así "
        "que no se abrió: la computadora fue revocada. Avise al equipo central de la "
        "organización.",
    ),
    "handover-org-key-needed": Message(
        en="This key file does not hold the organisation's public key, which a packet is "
        "checked against. Give the file the central team sent (--org-key "
        "organisation-public.json).",
        es="Este archivo de claves no contiene la clave pública de la organización, con la que "
        "se verifica un paquete. Indique el archivo que envió el equipo central (--org-key "
        "organisation-public.json).",
    ),
    "handover-org-key-bad": Message(
        en="The file {name} is not the organisation's public key file ('fieldscreen-server "
        "init-org' writes it as organisation-public.json), or it names another organisation "
        "than the key file holds.",
        es="El archivo {name} no es el archivo de clave pública de la organización "
        "('fieldscreen-server init-org' lo escribe como organisation-public.json), o indica "
        "otra organización que la del archivo de claves.",
    ),
    "handover-file": Message(
        en="The file {name} cannot be read or written. Check the path and try again.",
        es="No se puede leer ni escribir el archivo {name}. Revise la ruta e intente de nuevo.",
    ),
    "case-code-ambiguous": Message(
        en="The code {code!r} names {count} screenings on this laptop. Give more of the record id.",
        es="El código {code!r} corresponde a {count} tamizajes en esta computadora. Indique "
        "más caracteres del identificador.",
    ),
    "case-event-time-bad": Message(
        en="{value!r} is not a date and time. Write it as 2026-12-04T10:30.",
        es="{value!r} no es una fecha y hora. Escríbala como 2026-12-04T10:30.",
    ),
    "case-event-malformed": Message(
        en="This case event is not in the form FieldScreen writes. Record it again from the case "
        "card or with 'fieldscreen case event'.",
        es="Este evento de caso no tiene la forma que escribe FieldScreen. Regístrelo de nuevo "
        "desde la ficha del caso o con 'fieldscreen case event'.",
    ),
    "report-pdf-unwritable": Message(
        en="The report could not be saved as {path}. Choose a folder you can write to, with "
        "free space.",
        es="No se pudo guardar el informe como {path}. Elija una carpeta en la que pueda "
        "escribir y que tenga espacio libre.",
    ),
    "report-server-unavailable": Message(
        en="The server's report could not be fetched ({reason}). The report shows this "
        "laptop's own screenings; try again when the connection works.",
        es="No se pudo obtener el informe del servidor ({reason}). El informe muestra los "
        "tamizajes de esta computadora; intente de nuevo cuando haya conexión.",
    ),
    "report-credential-file": Message(
        en="The file {path} cannot be read or is not a coordinator credential. Choose the "
        "credential file IT gave you, or type the credential.",
        es="El archivo {path} no se puede leer o no es una credencial de coordinador. Elija el "
        "archivo de credencial que le dio TI, o escriba la credencial.",
    ),
    # ---- the supervisor queue and the coordinator's batches (fieldscreen.ui.supervision/batches)
    "signoff-refused": Message(
        en="The sign-off was not accepted: the passphrase does not match that supervisor's "
        "account, or the account cannot sign off. The supervisor types their own passphrase.",
        es="La aprobación no se aceptó: la frase no corresponde a la cuenta de ese supervisor, "
        "o la cuenta no puede aprobar. El supervisor escribe su propia frase.",
    ),
    "signoff-own-case": Message(
        en="Nobody signs off their own case. Ask another coordinator or an administrator.",
        es="Nadie aprueba su propio caso. Pida a otro coordinador o a un administrador.",
    ),
    "signoff-note-missing": Message(
        en="Say what the specialist should do before sending the case back.",
        es="Indique qué debe hacer el especialista antes de devolver el caso.",
    ),
    "relay-token-missing": Message(
        en="Relaying to the server needs your coordinator credential file from IT. Choose it, "
        "or save the bundle again for the next online machine.",
        es="Para reenviar al servidor se necesita el archivo de credencial de coordinador que "
        "entrega TI. Elíjalo, o guarde el paquete de nuevo para el siguiente equipo en línea.",
    ),
    "relay-token-file": Message(
        en="The credential file {path} cannot be read or holds no coordinator credential: its "
        "first line must be the token that fieldscreen-server token printed.",
        es="El archivo de credencial {path} no se puede leer o no contiene una credencial de "
        "coordinador: su primera línea debe ser el token que imprimió fieldscreen-server token.",
    ),
    "relay-same-laptop": Message(
        en="This bundle comes from this laptop. Sync it here instead (Sync screen), or carry it "
        "to another online machine.",
        es="Este paquete viene de esta misma laptop. Sincronícelo aquí (pantalla Sincronizar), "
        "o llévelo a otro equipo en línea.",
    ),
    # ---- in-app enrolment, the site's service directory and follow-ups
    "enrol-clock-skew": Message(
        en=(
            "This laptop's clock differs from the server's by about {minutes} minutes, so "
            "deadlines would be wrong. Set the date, time and time zone of the laptop, then "
            "enrol again. Nothing was changed."
        ),
        es=(
            "El reloj de esta computadora difiere del servidor en unos {minutes} minutos, así "
            "que los plazos saldrían mal. Ajuste la fecha, la hora y la zona horaria y vuelva a "
            "inscribirla. No se cambió nada."
        ),
    ),
    "enrol-wrong-organisation": Message(
        en=(
            "The server answered, but it does not hold your organisation's keys, so this laptop "
            "was not enrolled. Check the server address with IT, or get the right provisioning "
            "file."
        ),
        es=(
            "El servidor respondió, pero no tiene las claves de su organización, así que esta "
            "computadora no se inscribió. Revise la dirección del servidor con informática u "
            "obtenga el archivo de aprovisionamiento correcto."
        ),
    ),
    "directory-invalid": Message(
        en=(
            "The service directory {name} cannot be used ({reason}). The previous directory "
            "stays in use; ask IT for a corrected one."
        ),
        es=(
            "El directorio de servicios {name} no se puede usar ({reason}). Se sigue usando el "
            "anterior; pida a informática uno corregido."
        ),
    ),
    "directory-other-site": Message(
        en=(
            "The service directory {name} is for site {site}, not this laptop's site. Nothing "
            "was changed; load the directory of your own site."
        ),
        es=(
            "El directorio de servicios {name} es del sitio {site}, no del sitio de esta "
            "computadora. No se cambió nada; cargue el directorio de su propio sitio."
        ),
    ),
    # ---------------------------------------------------------------- forms: withheld referrals
    "form-release-name": Message(
        en=(
            "Nothing in this form withholds that recipient or service, so there is nothing to "
            "release. Choose one of the referrals listed as withheld or declined."
        ),
        es=(
            "Nada en este formulario retiene ese destinatario o servicio, así que no hay nada que "
            "liberar. Elija una de las referencias que aparecen como retenidas o rechazadas."
        ),
    ),
    "form-release-reason": Message(
        en=(
            "A withheld or declined referral can be made only with a reason. Write the reason "
            "(for example the legal basis) and try again."
        ),
        es=(
            "Una referencia retenida o rechazada solo se puede hacer con un motivo. Escriba el "
            "motivo (por ejemplo, la base legal) e inténtelo de nuevo."
        ),
    ),
    "form-release-supervisor": Message(
        en=(
            "A withheld or declined referral can be made only with a supervisor's sign-off, and "
            "not by the person who screened. Ask your supervisor to sign off."
        ),
        es=(
            "Una referencia retenida o rechazada solo se puede hacer con la aprobación de una "
            "persona supervisora que no sea quien hizo el tamizaje. Pida esa aprobación a la "
            "persona supervisora."
        ),
    ),
}


def render(code: str, lang: str = "en", **context: Any) -> str:
    """Render the catalogue message ``code`` in ``lang`` with ``context`` filled in."""
    try:
        template = CATALOGUE[code].text(lang)
    except KeyError:
        raise BugError(f"no catalogue message for code {code!r}") from None
    try:
        return template.format(**context)
    except (KeyError, IndexError) as exc:
        raise BugError(f"message {code!r} is missing context {exc}") from None


class FieldScreenError(Exception):
    """Root of every error FieldScreen raises on purpose."""


class KnownError(FieldScreenError):
    """The environment failed or the request cannot be met; show the user what to do.

    Subsystems subclass this (``VaultError``, ``FormError``, ``SyncError`` ...) and either use a
    catalogue ``code`` or override :meth:`message` when their text is built elsewhere (a form
    error names a file, sheet, row and column).
    """

    #: Process exit status used by the command line for this kind of failure.
    exit_code = 1

    def __init__(self, code: str, /, **context: Any) -> None:
        self.code = code
        self.context = context
        super().__init__(code)

    def message(self, lang: str = "en") -> str:
        return render(self.code, lang, **self.context)

    def __str__(self) -> str:
        return self.message("en")


class SettingsError(KnownError):
    """A setting that does not exist, has a value it cannot take, or is locked by the
    organisation (``setting-*``): the tree of :mod:`fieldscreen.settings`."""


class DeviceError(KnownError):
    """This laptop's own set-up cannot be used as asked: its profile folder, a resource file,
    a provisioning or directory file handed to it, a command's option out of range, the
    self-test. The tree of the modules at the package's top (:mod:`fieldscreen.device`,
    :mod:`fieldscreen.paths`, :mod:`fieldscreen.selftest`) and of
    :mod:`fieldscreen.device_commands`; every other package has an ``errors`` module of its
    own (crypto, vault, forms, sync, reports, ui)."""


class BugError(FieldScreenError):
    """An internal invariant failed. Never shown raw to a user; reported as a crash."""


def quiet_stdout() -> None:
    """Point stdout's descriptor at the null device, so the interpreter's last flush of what
    is still buffered cannot fail again on a reader that is gone (nothing if stdout has no
    descriptor: output captured in process)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def run_guarded(
    run: Callable[[], int], *, program: str, lang: str, debug: bool, advice: str
) -> int:
    """``run()`` as a command: the one guard of both command lines (``fieldscreen`` and
    ``fieldscreen-server``). A failure a user can meet is one line in ``lang`` (the traceback
    with ``debug``); anything else says it is a bug with ``advice``, never a traceback.

    Returns the exit status: ``run()``'s, the error's ``exit_code``, 130 on Ctrl-C, 141 when the
    reader of the output went away, 70 on a bug.
    """
    try:
        code = run()
        sys.stdout.flush()  # a pipe's reader gone shows here, not in the exit's own flush
        return code
    except KnownError as error:
        if debug:
            raise
        print(f"{program}: {error.message(lang)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read the output stopped early (`... | head`): nothing is wrong and there is
        # nothing more to say; stdout goes nowhere so the exit's own flush cannot fail again.
        quiet_stdout()
        return 141
    except Exception as error:
        if debug:
            raise
        kind = "bug" if isinstance(error, BugError) else "internal error"
        print(f"{program}: {kind} ({type(error).__name__}). {advice}", file=sys.stderr)
        return 70
