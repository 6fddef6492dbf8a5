<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name>AcknowledgeWidget</name>
    <message>
        <source>Done</source>
        <translation>Hecho</translation>
    </message>
</context>
<context>
    <name>ActNowBanner</name>
    <message>
        <source>ACT NOW: this child may be in immediate danger</source>
        <translation>ACTUAR YA: la niña o el niño puede estar en peligro inmediato</translation>
    </message>
</context>
<context>
    <name>BatchPage</name>
    <message>
        <source>Batches and sync history</source>
        <translation>Lotes e historial de sincronización</translation>
    </message>
    <message>
        <source>Counts per laptop and per user. Only case codes, states and reasons are shown: nothing of a child&apos;s answers.</source>
        <translation>Cuentas por computadora y por usuario. Solo se muestran códigos de caso, estados y motivos: nada de las respuestas de ninguna niña, niño o adolescente.</translation>
    </message>
    <message>
        <source>Laptop</source>
        <translation>Computadora</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Screenings per laptop and user</source>
        <translation>Tamizajes por computadora y usuario</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Sitio</translation>
    </message>
    <message>
        <source>State on the server</source>
        <translation>Estado en el servidor</translation>
    </message>
    <message>
        <source>Last contact</source>
        <translation>Último contacto</translation>
    </message>
    <message>
        <source>Held by the server</source>
        <translation>En el servidor</translation>
    </message>
    <message>
        <source>Laptops as the server sees them</source>
        <translation>Computadoras según el servidor</translation>
    </message>
    <message>
        <source>Here</source>
        <translation>Aquí</translation>
    </message>
    <message>
        <source>On the server</source>
        <translation>En el servidor</translation>
    </message>
    <message>
        <source>Failed or held for review</source>
        <translation>Fallidos o retenidos para revisión</translation>
    </message>
    <message>
        <source>Case</source>
        <translation>Caso</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Failed or held screenings</source>
        <translation>Tamizajes fallidos o retenidos</translation>
    </message>
    <message>
        <source>History of each sync</source>
        <translation>Historial de cada sincronización</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Cuándo</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Quién</translation>
    </message>
    <message>
        <source>How</source>
        <translation>Cómo</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Enviados</translation>
    </message>
    <message>
        <source>Acknowledged</source>
        <translation>Confirmados</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fallidos</translation>
    </message>
    <message>
        <source>Receipt</source>
        <translation>Acuse</translation>
    </message>
    <message>
        <source>&amp;Export a USB bundle…</source>
        <translation>&amp;Exportar paquete USB…</translation>
    </message>
    <message>
        <source>Apply a &amp;receipt…</source>
        <translation>Aplicar &amp;acuse…</translation>
    </message>
    <message>
        <source>Ask the ser&amp;ver…</source>
        <translation>Ver el ser&amp;vidor…</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>Ac&amp;tualizar</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Volver</translation>
    </message>
    <message>
        <source>This laptop</source>
        <translation>Esta computadora</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>sí</translation>
    </message>
    <message>
        <source>no</source>
        <translation>no</translation>
    </message>
    <message>
        <source>Save the USB bundle</source>
        <translation>Guardar el paquete USB</translation>
    </message>
    <message>
        <source>FieldScreen bundles (*.fsb);;All files (*)</source>
        <translation>Paquetes de FieldScreen (*.fsb);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>Activa</translation>
    </message>
    <message>
        <source>Withdrawn</source>
        <translation>Retirada</translation>
    </message>
    <message>
        <source>Wipe ordered</source>
        <translation>Borrado ordenado</translation>
    </message>
    <message>
        <source>this laptop</source>
        <translation>esta computadora</translation>
    </message>
    <message numerus="yes">
        <source>%n laptop(s) of your sites on the server.</source>
        <translation>
            <numerusform>%n laptop de sus sitios en el servidor.</numerusform>
            <numerusform>%n laptops de sus sitios en el servidor.</numerusform>
        </translation>
    </message>
    <message>
        <source>Another laptop&apos;s bundle</source>
        <translation>El paquete de otra computadora</translation>
    </message>
    <message numerus="yes">
        <source>%n partner acknowledgement(s) of its handovers go beside it, in the file of the same name ending .acks: carry that too.</source>
        <translation>
            <numerusform>Junto al recibo va %n acuse de recibo de un socio sobre sus traspasos, en el archivo del mismo nombre terminado en .acks: llévelo también.</numerusform>
            <numerusform>Junto al recibo van %n acuses de recibo de socios sobre sus traspasos, en el archivo del mismo nombre terminado en .acks: llévelo también.</numerusform>
        </translation>
    </message>
    <message>
        <source>Your coordinator credential file (from IT)</source>
        <translation>Su archivo de credencial de coordinador (de TI)</translation>
    </message>
    <message>
        <source>&amp;Import and relay…</source>
        <translation>&amp;Importar y reenviar…</translation>
    </message>
    <message>
        <source>Save for the &amp;next hop…</source>
        <translation>Para &amp;otro equipo…</translation>
    </message>
    <message>
        <source>Save it for the next hop</source>
        <translation>Guardarlo para el siguiente equipo</translation>
    </message>
    <message>
        <source>The receipt for this laptop</source>
        <translation>El acuse para esta computadora</translation>
    </message>
    <message>
        <source>FieldScreen receipts (*.fsr);;All files (*)</source>
        <translation>Acuses de FieldScreen (*.fsr);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>Trabajando…</translation>
    </message>
    <message>
        <source>Nothing waits on this laptop: the bundle is empty.</source>
        <translation>Nada espera en esta computadora: el paquete está vacío.</translation>
    </message>
    <message numerus="yes">
        <source>%n sealed screening(s) written to the bundle. They stay waiting here until the receipt comes back.</source>
        <translation>
            <numerusform>%n tamizaje sellado escrito en el paquete. Sigue esperando aquí hasta que vuelva el acuse.</numerusform>
            <numerusform>%n tamizajes sellados escritos en el paquete. Siguen esperando aquí hasta que vuelva el acuse.</numerusform>
        </translation>
    </message>
    <message>
        <source>Receipt already applied: nothing changed.</source>
        <translation>Acuse ya aplicado: no cambió nada.</translation>
    </message>
    <message numerus="yes">
        <source>%n screening(s) marked delivered.</source>
        <translation>
            <numerusform>%n tamizaje marcado como entregado.</numerusform>
            <numerusform>%n tamizajes marcados como entregados.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n partner acknowledgement(s) of a handover applied.</source>
        <translation>
            <numerusform>%n acuse de recibo de un socio sobre un traspaso aplicado.</numerusform>
            <numerusform>%n acuses de recibo de socios sobre traspasos aplicados.</numerusform>
        </translation>
    </message>
    <message>
        <source>Bundle of laptop %1 checked and saved for the next hop (%2 screenings).</source>
        <translation>Paquete de la computadora %1 revisado y guardado para el siguiente equipo (%2 tamizajes).</translation>
    </message>
    <message>
        <source>Already relayed: the server held all %1 screenings of laptop %2.</source>
        <translation>Ya reenviado: el servidor ya tenía los %1 tamizajes de la computadora %2.</translation>
    </message>
    <message>
        <source>Laptop %2: %1 screenings relayed, %3 acknowledged by the server, %4 failed.</source>
        <translation>Computadora %2: %1 tamizajes reenviados, %3 confirmados por el servidor, %4 fallidos.</translation>
    </message>
    <message>
        <source>Carry the receipt %1 back to that laptop.</source>
        <translation>Lleve el acuse %1 de vuelta a esa computadora.</translation>
    </message>
</context>
<context>
    <name>Batches</name>
    <message>
        <source>Network</source>
        <translation>Red</translation>
    </message>
    <message>
        <source>USB bundle written</source>
        <translation>Paquete USB escrito</translation>
    </message>
    <message>
        <source>Receipt applied</source>
        <translation>Acuse aplicado</translation>
    </message>
    <message>
        <source>Relayed to the server</source>
        <translation>Reenviado al servidor</translation>
    </message>
    <message>
        <source>Saved for the next hop</source>
        <translation>Guardado para el siguiente equipo</translation>
    </message>
</context>
<context>
    <name>CaseCardDialog</name>
    <message>
        <source>Earlier &amp;screenings…</source>
        <translation>Tamizajes &amp;anteriores…</translation>
    </message>
    <message>
        <source>Ask the server whether this child was screened before at another site</source>
        <translation>Preguntar al servidor si este niño o niña tuvo un tamizaje antes en otro sitio</translation>
    </message>
    <message>
        <source>&amp;Link the cases</source>
        <translation>&amp;Vincular los casos</translation>
    </message>
    <message>
        <source>A previous screening exists: site %1, week %2, tier %3.</source>
        <translation>Hay un tamizaje anterior: sitio %1, semana %2, nivel %3.</translation>
    </message>
    <message>
        <source>No earlier screening is known for this child, or the child did not agree to be told.</source>
        <translation>No se conoce un tamizaje anterior de este niño o niña, o no aceptó que se le avise a usted.</translation>
    </message>
    <message>
        <source>Case %s</source>
        <extracomment>Another case event to record: its type, the reason (a closed case&apos;s) and a note. The specialist asks the server for earlier screenings of this child (with consent). A handover to a partner: its id in the directory, the packet&apos;s file (may be empty when it goes through the server), a coordinator&apos;s reason to share without the child&apos;s consent (empty: the child&apos;s consent decides), whether a PDF of the summary in both languages is saved beside it, and whether the packet goes through the server.</extracomment>
        <translation>Caso %s</translation>
    </message>
    <message>
        <source>Name or alias</source>
        <translation>Nombre o alias</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>Nivel</translation>
    </message>
    <message>
        <source>Next follow-up</source>
        <translation>Próximo seguimiento</translation>
    </message>
    <message>
        <source>Protection concerns</source>
        <translation>Preocupaciones de protección</translation>
    </message>
    <message>
        <source>not shared (no consent)</source>
        <translation>no se comparte (sin consentimiento)</translation>
    </message>
    <message>
        <source>Follow-ups done: %1 (last on %2)</source>
        <translation>Seguimientos hechos: %1 (el último el %2)</translation>
    </message>
    <message>
        <source>No further follow-up is scheduled on this laptop.</source>
        <translation>No hay más seguimientos programados en esta computadora.</translation>
    </message>
    <message>
        <source>Nothing was kept.</source>
        <translation>No se guardó nada.</translation>
    </message>
    <message>
        <source>Timeline</source>
        <translation>Cronología</translation>
    </message>
    <message>
        <source>&amp;Record a follow-up done now</source>
        <translation>&amp;Registrar un seguimiento hecho ahora</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>&amp;Cerrar</translation>
    </message>
    <message>
        <source>Record an &amp;event…</source>
        <translation>Registrar un &amp;evento…</translation>
    </message>
    <message>
        <source>&amp;Hand over…</source>
        <translation>&amp;Traspasar…</translation>
    </message>
    <message>
        <source>Hand the case over to a partner organisation of the service directory</source>
        <translation>Traspasar el caso a una organización socia del directorio de servicios</translation>
    </message>
    <message>
        <source>Handover packet for %1 queued, sealed to its key: it goes to the server at the next sync, and the partner&apos;s acknowledgement comes back the same way.</source>
        <translation>Paquete de traspaso para %1 en cola, sellado para su clave: va al servidor en la próxima sincronización, y el acuse de recibo del socio vuelve por el mismo camino.</translation>
    </message>
    <message>
        <source>A copy is in %1.</source>
        <translation>Hay una copia en %1.</translation>
    </message>
    <message>
        <source>Handover packet for %1 written to %2, sealed to its key. Send the file.</source>
        <translation>Paquete de traspaso para %1 guardado en %2, sellado para su clave. Envíe el archivo.</translation>
    </message>
    <message>
        <source>%1 concern(s) left out: the consent to this recipient does not cover them.</source>
        <translation>%1 preocupación(es) no van: el consentimiento para este destinatario no las cubre.</translation>
    </message>
    <message>
        <source>The summary in English and Spanish is in %1 (not encrypted).</source>
        <translation>El resumen en inglés y español está en %1 (sin cifrar).</translation>
    </message>
    <message>
        <source>Screening</source>
        <translation>Tamizaje</translation>
    </message>
    <message>
        <source>Follow-up done</source>
        <translation>Seguimiento realizado</translation>
    </message>
    <message>
        <source>Referral made</source>
        <translation>Derivación realizada</translation>
    </message>
    <message>
        <source>Service reached</source>
        <translation>Servicio recibido</translation>
    </message>
    <message>
        <source>Child moved</source>
        <translation>Traslado del niño o niña</translation>
    </message>
    <message>
        <source>Child left</source>
        <translation>El niño o niña se fue</translation>
    </message>
    <message>
        <source>Case closed</source>
        <translation>Caso cerrado</translation>
    </message>
    <message>
        <source>Linked to an earlier screening</source>
        <translation>Vinculado a un tamizaje anterior</translation>
    </message>
    <message>
        <source>Handover sent to a partner</source>
        <translation>Traspaso enviado a un socio</translation>
    </message>
    <message>
        <source>Handover acknowledged by the partner</source>
        <translation>Traspaso confirmado por el socio</translation>
    </message>
    <message>
        <source>Handed over to %1 on %2, acknowledged on %3</source>
        <translation>Traspasado a %1 el %2, confirmado el %3</translation>
    </message>
    <message>
        <source>Handed over to %1 on %2, not acknowledged yet</source>
        <translation>Traspasado a %1 el %2, aún sin confirmar</translation>
    </message>
    <message>
        <source>stabilised</source>
        <translation>estabilizado</translation>
    </message>
    <message>
        <source>transferred</source>
        <translation>transferido</translation>
    </message>
    <message>
        <source>returned</source>
        <translation>retornado</translation>
    </message>
    <message>
        <source>reunified with family</source>
        <translation>reunificado con su familia</translation>
    </message>
    <message>
        <source>turned 18</source>
        <translation>cumplió 18 años</translation>
    </message>
    <message>
        <source>contact lost</source>
        <translation>se perdió el contacto</translation>
    </message>
    <message>
        <source>other</source>
        <translation>otro</translation>
    </message>
</context>
<context>
    <name>CaseEventDialog</name>
    <message>
        <source>Record a case event</source>
        <translation>Registrar un evento del caso</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Qué pasó</translation>
    </message>
    <message>
        <source>Why the case was closed</source>
        <translation>Por qué se cerró el caso</translation>
    </message>
    <message>
        <source>Note (optional)</source>
        <translation>Nota (opcional)</translation>
    </message>
    <message>
        <source>&amp;Record</source>
        <translation>&amp;Registrar</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
</context>
<context>
    <name>CaseListPage</name>
    <message>
        <source>Cases and drafts</source>
        <extracomment>The site&apos;s service directory (set by the window once read from the vault): its partners with keys can receive a handover from the case card.</extracomment>
        <translation>Casos y borradores</translation>
    </message>
    <message>
        <source>Search by case code, name or concern</source>
        <translation>Buscar por código de caso, nombre o preocupación</translation>
    </message>
    <message>
        <source>Search cases</source>
        <translation>Buscar casos</translation>
    </message>
    <message>
        <source>Sort by</source>
        <translation>Ordenar por</translation>
    </message>
    <message>
        <source>Sort by due date</source>
        <translation>Ordenar por fecha de seguimiento</translation>
    </message>
    <message>
        <source>Sort by tier</source>
        <translation>Ordenar por nivel de riesgo</translation>
    </message>
    <message>
        <source>Cases</source>
        <translation>Casos</translation>
    </message>
    <message>
        <source>No cases or drafts yet: a screening appears here once it is started.</source>
        <translation>Todavía no hay casos ni borradores: un tamizaje aparece aquí en cuanto se empieza.</translation>
    </message>
    <message>
        <source>Nothing matches this search. Search by case code, name or alias, or concern; clear the search to see all %1.</source>
        <translation>Nada coincide con esta búsqueda. Busque por código de caso, nombre o alias, o preocupación; borre la búsqueda para ver los %1.</translation>
    </message>
    <message>
        <source>%1 of %2 shown</source>
        <translation>Se muestran %1 de %2</translation>
    </message>
</context>
<context>
    <name>CaseTableModel</name>
    <message>
        <source>Case</source>
        <translation>Caso</translation>
    </message>
    <message>
        <source>Name or alias</source>
        <translation>Nombre o alias</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>Nivel</translation>
    </message>
    <message>
        <source>Next follow-up</source>
        <translation>Próximo seguimiento</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Draft</source>
        <translation>Borrador</translation>
    </message>
    <message>
        <source>Finalised</source>
        <translation>Finalizado</translation>
    </message>
    <message>
        <source>Sealed</source>
        <translation>Sellado</translation>
    </message>
</context>
<context>
    <name>CountryBox</name>
    <message>
        <source>Not chosen (no statutory deadlines)</source>
        <translation>Sin elegir (sin plazos legales)</translation>
    </message>
</context>
<context>
    <name>DateWidget</name>
    <message>
        <source>No answer</source>
        <extracomment>Room left of every field for the red marker of an error (the style sheet&apos;s 4-pixel border).</extracomment>
        <translation>Sin respuesta</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Hoy</translation>
    </message>
    <message>
        <source>Now</source>
        <translation>Ahora</translation>
    </message>
    <message>
        <source>No answer: %s</source>
        <translation>Sin respuesta: %s</translation>
    </message>
</context>
<context>
    <name>EnrolDialog</name>
    <message>
        <source>Enrol this laptop with the server</source>
        <translation>Inscribir esta computadora en el servidor</translation>
    </message>
    <message>
        <source>Enter the one-time enrolment code from your IT contact. Enrolment lets this laptop send finalised screenings and receive form and directory updates. You can also do it later: the app works fully offline.</source>
        <translation>Escriba el código de inscripción de un solo uso que le dio informática. La inscripción permite que esta computadora envíe los tamizajes finalizados y reciba actualizaciones de formularios y del directorio. También puede hacerlo más tarde: la aplicación funciona por completo sin conexión.</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <source>for example K7QP-2M9X</source>
        <translation>por ejemplo K7QP-2M9X</translation>
    </message>
    <message>
        <source>Enrolment code</source>
        <translation>Código de inscripción</translation>
    </message>
    <message>
        <source>Enrolment &amp;code</source>
        <translation>&amp;Código de inscripción</translation>
    </message>
    <message>
        <source>Read the &amp;provisioning file…</source>
        <translation>Leer el archivo de &amp;aprovisionamiento…</translation>
    </message>
    <message>
        <source>Enrolment progress</source>
        <translation>Avance de la inscripción</translation>
    </message>
    <message>
        <source>&amp;Later</source>
        <translation>Más &amp;tarde</translation>
    </message>
    <message>
        <source>Later</source>
        <translation>Más tarde</translation>
    </message>
    <message>
        <source>&amp;Enrol now</source>
        <translation>&amp;Inscribir ahora</translation>
    </message>
    <message>
        <source>Not set up yet: read the provisioning file from IT first (it names the server and your organisation&apos;s keys).</source>
        <translation>Aún no está configurada: primero lea el archivo de aprovisionamiento de informática (indica el servidor y las claves de su organización).</translation>
    </message>
    <message>
        <source>Already enrolled as %1 at site %2. A new code enrols it again.</source>
        <translation>Ya está inscrita como %1 en el sitio %2. Un código nuevo la vuelve a inscribir.</translation>
    </message>
    <message>
        <source>Contacting the server…</source>
        <translation>Contactando el servidor…</translation>
    </message>
    <message>
        <source>Sending the enrolment code…</source>
        <translation>Enviando el código de inscripción…</translation>
    </message>
    <message>
        <source>Checking that the server belongs to your organisation…</source>
        <translation>Comprobando que el servidor pertenece a su organización…</translation>
    </message>
    <message>
        <source>Saving the enrolment on this laptop…</source>
        <translation>Guardando la inscripción en esta computadora…</translation>
    </message>
    <message>
        <source>Enrolled as %1 at site %2. Finalised screenings will now be sent.</source>
        <translation>Inscrita como %1 en el sitio %2. Los tamizajes finalizados se enviarán desde ahora.</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>&amp;Cerrar</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Cerrar</translation>
    </message>
    <message>
        <source>Provisioning file</source>
        <translation>Archivo de aprovisionamiento</translation>
    </message>
    <message>
        <source>Provisioning files (*.json *.fsp)</source>
        <translation>Archivos de aprovisionamiento (*.json *.fsp)</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>Something went wrong</source>
        <translation>Algo salió mal</translation>
    </message>
</context>
<context>
    <name>FirstRunPage</name>
    <message>
        <source>Set up this laptop</source>
        <translation>Configurar esta computadora</translation>
    </message>
    <message>
        <source>This is done once, by the person responsible for this laptop. Everything works without a server; you can connect to one later.</source>
        <translation>Esto se hace una sola vez, por la persona responsable de esta computadora. Todo funciona sin servidor; puede conectarse a uno más tarde.</translation>
    </message>
    <message>
        <source>Read a &amp;provisioning file…</source>
        <translation>Leer un archivo de &amp;aprovisionamiento…</translation>
    </message>
    <message>
        <source>Server address (optional)</source>
        <translation>Dirección del servidor (opcional)</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Sitio</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Frase de acceso</translation>
    </message>
    <message>
        <source>Passphrase again</source>
        <translation>Frase de acceso otra vez</translation>
    </message>
    <message>
        <source>Site of this laptop</source>
        <translation>Sitio de esta computadora</translation>
    </message>
    <message>
        <source>Administrator login</source>
        <translation>Usuario de la persona administradora</translation>
    </message>
    <message>
        <source>Country of the site</source>
        <translation>País del sitio</translation>
    </message>
    <message>
        <source>for example ana.lopez</source>
        <translation>por ejemplo ana.lopez</translation>
    </message>
    <message>
        <source>C&amp;ountry of the site</source>
        <translation>&amp;País del sitio</translation>
    </message>
    <message>
        <source>Administrator &amp;login</source>
        <translation>&amp;Usuario de la persona administradora</translation>
    </message>
    <message>
        <source>Pass&amp;phrase</source>
        <translation>&amp;Frase de acceso</translation>
    </message>
    <message>
        <source>Passphrase &amp;again</source>
        <translation>Frase de acceso &amp;otra vez</translation>
    </message>
    <message>
        <source>Use at least %d characters: a few unrelated words are easy to remember and hard to guess. If the passphrase is lost, the data cannot be recovered.</source>
        <translation>Use al menos %d caracteres: unas palabras sin relación entre sí son fáciles de recordar y difíciles de adivinar. Si se pierde la frase de acceso, los datos no se pueden recuperar.</translation>
    </message>
    <message>
        <source>Enrolment with the server uses a one-time code from your IT contact: the app asks for it once the account exists, and it can also be done later in Settings → Server.</source>
        <translation>La inscripción en el servidor usa un código de un solo uso que le da su contacto de informática: la aplicación lo pide cuando la cuenta ya existe, y también puede hacerse más tarde en Ajustes → Servidor.</translation>
    </message>
    <message>
        <source>&amp;Create account and start</source>
        <translation>&amp;Crear cuenta y empezar</translation>
    </message>
    <message>
        <source>Provisioning file</source>
        <translation>Archivo de aprovisionamiento</translation>
    </message>
    <message>
        <source>Provisioning files (*.json *.fsp)</source>
        <translation>Archivos de aprovisionamiento (*.json *.fsp)</translation>
    </message>
    <message>
        <source>Provisioning file %1, signed by %2.</source>
        <translation>Archivo de aprovisionamiento %1, firmado por %2.</translation>
    </message>
    <message>
        <source>Server: %1</source>
        <translation>Servidor: %1</translation>
    </message>
    <message>
        <source>Set by the organisation and locked: %1</source>
        <translation>Fijado por la organización y bloqueado: %1</translation>
    </message>
    <message>
        <source>The name you will type to sign in: letters, digits and . _ @ - only, no spaces, at most 64.</source>
        <translation>El nombre que escribirá para entrar: solo letras, cifras y . _ @ -, sin espacios, hasta 64.</translation>
    </message>
    <message>
        <source>Enter a login for the administrator account.</source>
        <translation>Escriba un usuario para la cuenta de administración.</translation>
    </message>
    <message>
        <source>A login cannot have spaces.</source>
        <translation>Un usuario no puede tener espacios.</translation>
    </message>
    <message>
        <source>A login has at most 64 characters.</source>
        <translation>Un usuario tiene como máximo 64 caracteres.</translation>
    </message>
    <message>
        <source>A login may have letters, digits and . _ @ - only.</source>
        <translation>Un usuario solo puede tener letras, cifras y . _ @ -.</translation>
    </message>
    <message>
        <source>For example: %1</source>
        <translation>Por ejemplo: %1</translation>
    </message>
    <message>
        <source>The passphrase needs at least %d characters.</source>
        <translation>La frase de acceso necesita al menos %d caracteres.</translation>
    </message>
    <message>
        <source>The two passphrases are different. Type them again.</source>
        <translation>Las dos frases de acceso son distintas. Escríbalas de nuevo.</translation>
    </message>
</context>
<context>
    <name>HandoverDialog</name>
    <message>
        <source>Hand the case over</source>
        <translation>Traspasar el caso</translation>
    </message>
    <message>
        <source>Only what the child consented to share with this partner goes, sealed to its key: the best-interests summary and the return plan.</source>
        <translation>Solo va lo que la niña o el niño consintió compartir con este socio, sellado para su clave: el resumen del interés superior y el plan de retorno.</translation>
    </message>
    <message>
        <source>Partner</source>
        <translation>Socio</translation>
    </message>
    <message>
        <source>Send through the server at the next sync (the server cannot read it); the packet file is then optional</source>
        <translation>Enviar por el servidor en la próxima sincronización (el servidor no puede leerlo); el archivo del paquete es entonces opcional</translation>
    </message>
    <message>
        <source>Packet file</source>
        <translation>Archivo del paquete</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>E&amp;legir…</translation>
    </message>
    <message>
        <source>Reason to share without the child&apos;s consent (coordinators; audited)</source>
        <translation>Motivo para compartir sin el consentimiento de la niña o el niño (coordinación; queda registrado)</translation>
    </message>
    <message>
        <source>Also save the summary as a PDF in English and Spanish, beside the packet, for a partner without the software (not encrypted: anyone who gets it can read it)</source>
        <translation>Guardar también el resumen en PDF, en inglés y español, junto al paquete, para un socio sin el programa (sin cifrar: cualquiera que lo tenga puede leerlo)</translation>
    </message>
    <message>
        <source>&amp;Hand over</source>
        <translation>&amp;Traspasar</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
    <message>
        <source>Save the handover packet</source>
        <translation>Guardar el paquete de traspaso</translation>
    </message>
    <message>
        <source>Handover packets (*.json)</source>
        <translation>Paquetes de traspaso (*.json)</translation>
    </message>
</context>
<context>
    <name>HomePage</name>
    <message>
        <source>Sync state</source>
        <extracomment>What a supervisor sent back, made the first time there is any.</extracomment>
        <translation>Estado de sincronización</translation>
    </message>
    <message>
        <source>&amp;Start a new screening</source>
        <translation>&amp;Empezar un tamizaje nuevo</translation>
    </message>
    <message>
        <source>Drafts to resume</source>
        <translation>Borradores por continuar</translation>
    </message>
    <message>
        <source>Follow-ups due today and overdue</source>
        <translation>Seguimientos de hoy y atrasados</translation>
    </message>
    <message>
        <source>Deadlines running</source>
        <translation>Plazos en curso</translation>
    </message>
    <message>
        <source>All cases and drafts…</source>
        <translation>Todos los casos y borradores…</translation>
    </message>
    <message>
        <source>Starting the screening…</source>
        <translation>Empezando el tamizaje…</translation>
    </message>
    <message>
        <source>Hello, %s</source>
        <translation>Hola, %s</translation>
    </message>
    <message>
        <source>Draft %1, last saved %2</source>
        <translation>Borrador %1, guardado por última vez %2</translation>
    </message>
    <message>
        <source>No drafts.</source>
        <translation>No hay borradores.</translation>
    </message>
    <message>
        <source>Nothing due today.</source>
        <translation>Nada pendiente para hoy.</translation>
    </message>
    <message>
        <source>No deadlines running.</source>
        <translation>No hay plazos en curso.</translation>
    </message>
    <message>
        <source>Sent back by a supervisor</source>
        <translation>Devuelto por un supervisor</translation>
    </message>
    <message>
        <source>Case %1 was sent back by %2: %3</source>
        <translation>%2 devolvió el caso %1: %3</translation>
    </message>
</context>
<context>
    <name>IdleWarning</name>
    <message>
        <source>FieldScreen locks in %d s because nothing was typed. Press any key or move the mouse to keep working; your answers are saved.</source>
        <translation>FieldScreen se bloquea en %d s porque no se escribió nada. Pulse cualquier tecla o mueva el ratón para seguir trabajando; sus respuestas están guardadas.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>FieldScreen</source>
        <extracomment>Who sees the coordinator report. Builds the sync view model after unlock (on the writer: it reads the vault); returns None while the laptop is not enrolled. The idle lock, its grace and the clipboard guard (:mod:`fieldscreen.ui.shell.idle_lock`). Lock, unlock and panic, and where the user was (:mod:`fieldscreen.ui.shell.lock`). The background sync policy&apos;s ticks (:mod:`fieldscreen.ui.shell.sync_ticks`). Enrolment, policies, the forms&apos; context and the service directory (:mod:`fieldscreen.ui.shell.enrolment`). A draft resumed, migrated when its form is newer (:mod:`fieldscreen.ui.shell.resume`). The home screen&apos;s lists and counts (:mod:`fieldscreen.ui.shell.home`). The case list&apos;s rows (:mod:`fieldscreen.ui.shell.case_list`). The language switch (:mod:`fieldscreen.ui.shell.language`).
----------
The screens a lock clears (the wizard closes its session instead). The screening&apos;s id holder: filled by the writer thread if the first save is in flight. Why the last panic action could not seal (shown after the next unlock).</extracomment>
        <translation>FieldScreen</translation>
    </message>
    <message>
        <source>Sample form: this build runs a short sample screening instead of the built-in forms. Answers are saved encrypted, but do not use it with a child.</source>
        <extracomment>The navigation bar (:mod:`fieldscreen.ui.shell.navigation`).</extracomment>
        <translation>Formulario de muestra: esta versión usa un tamizaje corto de muestra en lugar de los formularios incluidos. Las respuestas se guardan cifradas, pero no lo use con niñas, niños y adolescentes.</translation>
    </message>
    <message numerus="yes">
        <source>%n screening(s) sealed and waiting to be sent</source>
        <translation>
            <numerusform>%n tamizaje sellado espera su envío</numerusform>
            <numerusform>%n tamizajes sellados esperan su envío</numerusform>
        </translation>
    </message>
    <message>
        <source>nothing waiting to be sent</source>
        <translation>nada por enviar</translation>
    </message>
    <message>
        <source>Working offline: no server set</source>
        <translation>Trabajando sin conexión: no hay servidor configurado</translation>
    </message>
    <message>
        <source>Server set</source>
        <translation>Servidor configurado</translation>
    </message>
</context>
<context>
    <name>MediaWidget</name>
    <message>
        <source>Choose file…</source>
        <extracomment>The file picker: ``(parent, title, filters) -&gt; path or &quot;&quot;`` (replaced in tests).</extracomment>
        <translation>Elegir archivo…</translation>
    </message>
    <message>
        <source>Remove file</source>
        <translation>Quitar archivo</translation>
    </message>
    <message>
        <source>No file attached.</source>
        <translation>No hay ningún archivo adjunto.</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>Todos los archivos (*)</translation>
    </message>
    <message>
        <source>OpenStreetMap files</source>
        <translation>Archivos de OpenStreetMap</translation>
    </message>
    <message>
        <source>Photos and scans</source>
        <translation>Fotos y escaneos</translation>
    </message>
    <message>
        <source>Recordings</source>
        <translation>Grabaciones</translation>
    </message>
    <message>
        <source>Videos</source>
        <translation>Videos</translation>
    </message>
    <message>
        <source>Attach a file</source>
        <translation>Adjuntar un archivo</translation>
    </message>
    <message>
        <source>This file cannot be read. Check that it is still there and try again.</source>
        <translation>No se puede leer este archivo. Compruebe que sigue allí e inténtelo de nuevo.</translation>
    </message>
    <message>
        <source>This file is larger than %1 MB, the most one screening file may be. Attach a smaller photo or scan (a lower resolution still shows a document).</source>
        <translation>Este archivo ocupa más de %1 MB, lo máximo para un archivo de un tamizaje. Adjunte una foto o un escaneo más pequeño (con menos resolución el documento se sigue leyendo).</translation>
    </message>
</context>
<context>
    <name>MigrateDialog</name>
    <message>
        <source>The form has been updated</source>
        <translation>El formulario se ha actualizado</translation>
    </message>
    <message>
        <source>This draft was started with an earlier version of the form. The answers to these questions no longer fit the new form. If you resume, they are set aside in this draft, where you can still read them and enter them again:</source>
        <translation>Este borrador se empezó con una versión anterior del formulario. Las respuestas a estas preguntas ya no encajan en el formulario nuevo. Si continúa, quedan apartadas en este borrador, donde podrá seguir leyéndolas y volver a introducirlas:</translation>
    </message>
    <message>
        <source>Questions whose answers no longer fit</source>
        <translation>Preguntas cuyas respuestas ya no encajan</translation>
    </message>
    <message>
        <source>With “Not now” the draft stays exactly as it is.</source>
        <translation>Con «Ahora no» el borrador queda exactamente como está.</translation>
    </message>
    <message>
        <source>Resume with the new form</source>
        <translation>Continuar con el formulario nuevo</translation>
    </message>
    <message>
        <source>Not now</source>
        <translation>Ahora no</translation>
    </message>
</context>
<context>
    <name>NavigationBar</name>
    <message>
        <source>FieldScreen</source>
        <translation>FieldScreen</translation>
    </message>
    <message>
        <source>&amp;Home</source>
        <translation>&amp;Inicio</translation>
    </message>
    <message>
        <source>&amp;Cases</source>
        <translation>&amp;Casos</translation>
    </message>
    <message>
        <source>S&amp;ync</source>
        <translation>Sincroni&amp;zar</translation>
    </message>
    <message>
        <source>Se&amp;ttings</source>
        <translation>Aj&amp;ustes</translation>
    </message>
    <message>
        <source>Su&amp;pervisor queue</source>
        <translation>Cola de su&amp;pervisión</translation>
    </message>
    <message>
        <source>&amp;Batches</source>
        <translation>&amp;Lotes</translation>
    </message>
    <message>
        <source>&amp;Report</source>
        <translation>I&amp;nforme</translation>
    </message>
    <message>
        <source>&amp;Lock (Ctrl+L)</source>
        <translation>&amp;Bloquear (Ctrl+L)</translation>
    </message>
</context>
<context>
    <name>NeutralPage</name>
    <message>
        <source>Session ended.</source>
        <translation>Sesión terminada.</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Continuar</translation>
    </message>
    <message>
        <source>Session ended</source>
        <translation>Sesión terminada</translation>
    </message>
</context>
<context>
    <name>NewUserDialog</name>
    <message>
        <source>Add a user</source>
        <translation>Añadir una persona usuaria</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Función</translation>
    </message>
    <message>
        <source>Specialist</source>
        <translation>Especialista</translation>
    </message>
    <message>
        <source>Coordinator</source>
        <translation>Coordinación</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>Administración</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Frase de acceso</translation>
    </message>
    <message>
        <source>Passphrase again</source>
        <translation>Frase de acceso otra vez</translation>
    </message>
    <message>
        <source>&amp;Name</source>
        <translation>&amp;Nombre</translation>
    </message>
    <message>
        <source>&amp;Role</source>
        <translation>F&amp;unción</translation>
    </message>
    <message>
        <source>&amp;Passphrase</source>
        <translation>&amp;Frase de acceso</translation>
    </message>
    <message>
        <source>Passphrase &amp;again</source>
        <translation>Frase de acceso &amp;otra vez</translation>
    </message>
    <message>
        <source>Enter a name.</source>
        <translation>Escriba un nombre.</translation>
    </message>
    <message>
        <source>The passphrase needs at least %d characters.</source>
        <translation>La frase de acceso necesita al menos %d caracteres.</translation>
    </message>
    <message>
        <source>The two passphrases are different. Type them again.</source>
        <translation>Las dos frases de acceso son distintas. Escríbalas de nuevo.</translation>
    </message>
</context>
<context>
    <name>PassphraseChangeDialog</name>
    <message>
        <source>Change my passphrase</source>
        <translation>Cambiar mi frase de acceso</translation>
    </message>
    <message>
        <source>You get a new key of your own and the vault moves to new keys, so even a copy of the key file taken before, with your old passphrase, opens nothing written afterwards. With many records this takes a while: keep the laptop on.</source>
        <translation>Usted recibe una clave propia nueva y la bóveda pasa a claves nuevas, así que ni siquiera una copia del archivo de claves tomada antes, con su frase de acceso anterior, abre nada de lo escrito después. Con muchos registros esto tarda: mantenga la computadora encendida.</translation>
    </message>
    <message>
        <source>Current passphrase</source>
        <translation>Frase de acceso actual</translation>
    </message>
    <message>
        <source>New passphrase</source>
        <translation>Frase de acceso nueva</translation>
    </message>
    <message>
        <source>New passphrase again</source>
        <translation>Frase de acceso nueva otra vez</translation>
    </message>
    <message>
        <source>&amp;Current passphrase</source>
        <translation>Frase de acceso &amp;actual</translation>
    </message>
    <message>
        <source>&amp;New passphrase</source>
        <translation>Frase de acceso &amp;nueva</translation>
    </message>
    <message>
        <source>New passphrase &amp;again</source>
        <translation>Frase de acceso nueva &amp;otra vez</translation>
    </message>
    <message>
        <source>Enter your current passphrase.</source>
        <translation>Escriba su frase de acceso actual.</translation>
    </message>
    <message>
        <source>The passphrase needs at least %d characters.</source>
        <translation>La frase de acceso necesita al menos %d caracteres.</translation>
    </message>
    <message>
        <source>The two passphrases are different. Type them again.</source>
        <translation>Las dos frases de acceso son distintas. Escríbalas de nuevo.</translation>
    </message>
    <message>
        <source>The new passphrase is the one you have now. Choose another.</source>
        <translation>La frase de acceso nueva es la que ya tiene. Elija otra.</translation>
    </message>
</context>
<context>
    <name>PassphraseDialog</name>
    <message>
        <source>User</source>
        <extracomment>Wide enough that an explanation reads as a paragraph, not a column of two-word lines.</extracomment>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Frase de acceso</translation>
    </message>
    <message>
        <source>&amp;User</source>
        <translation>&amp;Usuario</translation>
    </message>
    <message>
        <source>&amp;Passphrase</source>
        <translation>&amp;Frase de acceso</translation>
    </message>
    <message>
        <source>That did not work. Check the user and the passphrase.</source>
        <translation>No funcionó. Revise el usuario y la frase de acceso.</translation>
    </message>
</context>
<context>
    <name>PickerWidget</name>
    <message>
        <source>Type to search, then Enter to choose</source>
        <translation>Escriba para buscar y pulse Intro para elegir</translation>
    </message>
    <message>
        <source>Type to search, Enter to add; choose as many as apply</source>
        <translation>Escriba para buscar y pulse Intro para añadir; elija todas las que correspondan</translation>
    </message>
    <message>
        <source>%s: choices</source>
        <translation>%s: opciones</translation>
    </message>
    <message>
        <source>Chosen:</source>
        <translation>Lo elegido:</translation>
    </message>
    <message>
        <source>%s: search the list</source>
        <translation>%s: buscar en la lista</translation>
    </message>
    <message>
        <source>Nothing in the list matches “%s”.</source>
        <translation>Nada en la lista coincide con «%s».</translation>
    </message>
    <message>
        <source>Remove %s</source>
        <translation>Quitar %s</translation>
    </message>
</context>
<context>
    <name>Queue</name>
    <message>
        <source>Tier override asked</source>
        <translation>Cambio de nivel solicitado</translation>
    </message>
    <message>
        <source>Shared without consent: check the legal basis</source>
        <translation>Se comparte sin consentimiento: revise el fundamento legal</translation>
    </message>
    <message>
        <source>Act now: no actions recorded</source>
        <translation>Actuar ya: sin acciones registradas</translation>
    </message>
    <message>
        <source>Return recommended: best-interests determination needed</source>
        <translation>Retorno recomendado: se necesita determinación del interés superior</translation>
    </message>
</context>
<context>
    <name>QueuePage</name>
    <message>
        <source>Waiting for a supervisor</source>
        <translation>Pendiente de un supervisor</translation>
    </message>
    <message>
        <source>Case</source>
        <translation>Caso</translation>
    </message>
    <message>
        <source>Name or alias</source>
        <translation>Nombre o alias</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>Nivel</translation>
    </message>
    <message>
        <source>Why it waits</source>
        <translation>Por qué espera</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Quién</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Cuándo</translation>
    </message>
    <message>
        <source>Screenings waiting for a supervisor</source>
        <translation>Tamizajes pendientes de un supervisor</translation>
    </message>
    <message>
        <source>&amp;Open case</source>
        <translation>&amp;Abrir caso</translation>
    </message>
    <message>
        <source>&amp;Approve…</source>
        <translation>A&amp;probar…</translation>
    </message>
    <message>
        <source>Send &amp;back…</source>
        <translation>&amp;Devolver…</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>Ac&amp;tualizar</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Volver</translation>
    </message>
    <message>
        <source>Nothing waits for a supervisor.</source>
        <translation>Nada está pendiente de un supervisor.</translation>
    </message>
    <message numerus="yes">
        <source>%n screening(s) wait for a supervisor.</source>
        <translation>
            <numerusform>%n tamizaje espera a un supervisor.</numerusform>
            <numerusform>%n tamizajes esperan a un supervisor.</numerusform>
        </translation>
    </message>
    <message>
        <source>Act-now cases first. Open a case to read it before you sign off.</source>
        <translation>Primero los casos de actuar ya. Abra el caso para leerlo antes de aprobar.</translation>
    </message>
    <message>
        <source>Send back to the specialist</source>
        <translation>Devolver al especialista</translation>
    </message>
    <message>
        <source>Say what the specialist should do. They see this note on their home screen; do not write the child&apos;s answers in it.</source>
        <translation>Indique qué debe hacer el especialista. Verá esta nota en su pantalla de inicio; no escriba en ella las respuestas de la niña o el niño.</translation>
    </message>
    <message>
        <source>Approve as supervisor</source>
        <translation>Aprobar como supervisor</translation>
    </message>
    <message>
        <source>Send back as supervisor</source>
        <translation>Devolver como supervisor</translation>
    </message>
    <message>
        <source>Case %1: %2. Type your own passphrase to sign this off; it is recorded in the audit log with your name and the time.</source>
        <translation>Caso %1: %2. Escriba su propia frase para aprobarlo; queda en el registro de auditoría con su nombre y la hora.</translation>
    </message>
    <message>
        <source>Approved by %1.</source>
        <translation>Aprobado por %1.</translation>
    </message>
    <message>
        <source>Sent back to the specialist by %1.</source>
        <translation>Devuelto al especialista por %1.</translation>
    </message>
</context>
<context>
    <name>RankWidget</name>
    <message>
        <source>Move up</source>
        <translation>Subir</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>Bajar</translation>
    </message>
    <message>
        <source>Keep this order</source>
        <translation>Mantener este orden</translation>
    </message>
</context>
<context>
    <name>ReasonDialog</name>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Reason (required)</source>
        <translation>Motivo (obligatorio)</translation>
    </message>
    <message>
        <source>Note (optional)</source>
        <translation>Nota (opcional)</translation>
    </message>
</context>
<context>
    <name>RepeatWidget</name>
    <message>
        <source>Add another</source>
        <extracomment>The specialist asked to add the screening&apos;s suggestions (only when ``view.fillable``).</extracomment>
        <translation>Añadir otra</translation>
    </message>
    <message>
        <source>Add another: %s</source>
        <translation>Añadir otra: %s</translation>
    </message>
    <message>
        <source>Fill from suggestions</source>
        <translation>Rellenar con las sugerencias</translation>
    </message>
    <message>
        <source>Fill from suggestions: %s</source>
        <translation>Rellenar con las sugerencias: %s</translation>
    </message>
    <message>
        <source>Adds a row for each suggestion of this screening that is not listed yet. Check each row and change or remove it as needed.</source>
        <translation>Agrega una fila por cada sugerencia de este tamizaje que aún no está en la lista. Revise cada fila y cámbiela o quítela si hace falta.</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Quitar</translation>
    </message>
    <message>
        <source>Remove entry %d</source>
        <translation>Quitar la entrada %d</translation>
    </message>
</context>
<context>
    <name>ReportPage</name>
    <message>
        <source>Possible earlier screenings</source>
        <extracomment>The server&apos;s report needs a laptop enrolled with a server (or a given fetcher).</extracomment>
        <translation>Posibles tamizajes anteriores</translation>
    </message>
    <message>
        <source>This screening</source>
        <translation>Este tamizaje</translation>
    </message>
    <message>
        <source>Possible earlier screening</source>
        <translation>Posible tamizaje anterior</translation>
    </message>
    <message>
        <source>Matched on</source>
        <translation>Coincide en</translation>
    </message>
    <message>
        <source>Child agreed the specialist be told</source>
        <translation>El niño o niña aceptó que se avise a la persona especialista</translation>
    </message>
    <message>
        <source>given names and date of birth</source>
        <translation>nombres y fecha de nacimiento</translation>
    </message>
    <message>
        <source>given names, age band and country</source>
        <translation>nombres, grupo de edad y país</translation>
    </message>
    <message>
        <source>first name, date of birth and country</source>
        <translation>primer nombre, fecha de nacimiento y país</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>Sí</translation>
    </message>
    <message>
        <source>No</source>
        <translation>No</translation>
    </message>
    <message>
        <source>No possible earlier screenings of the same child at your sites.</source>
        <translation>No hay posibles tamizajes anteriores del mismo niño o niña en sus sitios.</translation>
    </message>
    <message numerus="yes">
        <source>Possible earlier screenings of the same child (%n pair(s)), for you to check with the sites:</source>
        <translation>
            <numerusform>Posibles tamizajes anteriores del mismo niño o niña (%n par), para revisar con los sitios:</numerusform>
            <numerusform>Posibles tamizajes anteriores del mismo niño o niña (%n pares), para revisar con los sitios:</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n token(s) shared by too many screenings to point at one child are left out.</source>
        <translation>
            <numerusform>Se omite %n código compartido por demasiados tamizajes para señalar a un solo niño o niña.</numerusform>
            <numerusform>Se omiten %n códigos compartidos por demasiados tamizajes para señalar a un solo niño o niña.</numerusform>
        </translation>
    </message>
    <message>
        <source>Screenings by risk tier</source>
        <translation>Tamizajes por nivel de riesgo</translation>
    </message>
    <message>
        <source>Screenings per ISO week</source>
        <translation>Tamizajes por semana ISO</translation>
    </message>
    <message>
        <source>Protection concerns (a child may have several)</source>
        <translation>Necesidades de protección (una niña o un niño puede tener varias)</translation>
    </message>
    <message>
        <source>Age band</source>
        <translation>Grupo de edad</translation>
    </message>
    <message>
        <source>Sex</source>
        <translation>Sexo</translation>
    </message>
    <message>
        <source>Nationality (a child may have several)</source>
        <translation>Nacionalidad (una niña o un niño puede tener varias)</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Sitio</translation>
    </message>
    <message>
        <source>Age not known</source>
        <translation>Edad desconocida</translation>
    </message>
    <message>
        <source>%1 years</source>
        <translation>%1 años</translation>
    </message>
    <message>
        <source>Female</source>
        <translation>Mujer</translation>
    </message>
    <message>
        <source>Male</source>
        <translation>Hombre</translation>
    </message>
    <message>
        <source>Intersex</source>
        <translation>Intersexual</translation>
    </message>
    <message>
        <source>Prefers not to say</source>
        <translation>Prefiere no responder</translation>
    </message>
    <message>
        <source>Not recorded</source>
        <translation>No registrado</translation>
    </message>
    <message>
        <source>Coordinator report</source>
        <extracomment>Emitted with the view each time the report is shown (tests wait on it).</extracomment>
        <translation>Informe de coordinación</translation>
    </message>
    <message>
        <source>From &amp;week</source>
        <translation>&amp;Desde la semana</translation>
    </message>
    <message>
        <source>First week</source>
        <translation>Primera semana</translation>
    </message>
    <message>
        <source>Last week</source>
        <translation>Última semana</translation>
    </message>
    <message>
        <source>To wee&amp;k</source>
        <translation>&amp;Hasta la semana</translation>
    </message>
    <message>
        <source>&amp;Site</source>
        <translation>&amp;Sitio</translation>
    </message>
    <message>
        <source>Show the report for these weeks and site</source>
        <translation>Mostrar el informe de estas semanas y este sitio</translation>
    </message>
    <message>
        <source>Sh&amp;ow</source>
        <translation>&amp;Mostrar</translation>
    </message>
    <message>
        <source>%1 · from %2</source>
        <translation>%1 · desde el %2</translation>
    </message>
    <message>
        <source>Save as PD&amp;F…</source>
        <translation>Guardar como PD&amp;F…</translation>
    </message>
    <message>
        <source>Coordinator credential for the server</source>
        <translation>Credencial de coordinación para el servidor</translation>
    </message>
    <message>
        <source>Credential fi&amp;le…</source>
        <translation>&amp;Archivo de credencial…</translation>
    </message>
    <message>
        <source>Open the coordinator credential file from IT</source>
        <translation>Abrir el archivo de credencial de coordinador que entrega TI</translation>
    </message>
    <message>
        <source>Use the ser&amp;ver&apos;s report</source>
        <translation>Usar el informe del servid&amp;or</translation>
    </message>
    <message>
        <source>Use this laptop&apos;s scr&amp;eenings</source>
        <translation>Usar los tamizajes de esta compu&amp;tadora</translation>
    </message>
    <message>
        <source>Enter the coordinator credential your administrator gave you.</source>
        <translation>Escriba la credencial de coordinación que le dio la persona administradora.</translation>
    </message>
    <message>
        <source>Your coordinator credential file (from IT)</source>
        <translation>Su archivo de credencial de coordinador (de TI)</translation>
    </message>
    <message>
        <source>Counting…</source>
        <translation>Contando…</translation>
    </message>
    <message>
        <source>Source: the server, for the sites you coordinate.</source>
        <translation>Fuente: el servidor, para los sitios que usted coordina.</translation>
    </message>
    <message>
        <source>Source: this laptop&apos;s finalised screenings that have not been sent yet (sent ones are counted on the server).</source>
        <translation>Fuente: los tamizajes finalizados de esta computadora que aún no se han enviado (los enviados se cuentan en el servidor).</translation>
    </message>
    <message>
        <source>Earliest</source>
        <translation>La primera</translation>
    </message>
    <message>
        <source>Latest</source>
        <translation>La última</translation>
    </message>
    <message>
        <source>All sites</source>
        <translation>Todos los sitios</translation>
    </message>
    <message>
        <source>all sites</source>
        <translation>todos los sitios</translation>
    </message>
    <message>
        <source>Period: ISO weeks %1 to %2; %3</source>
        <translation>Periodo: semanas ISO %1 a %2; %3</translation>
    </message>
    <message>
        <source>Counts under %1 are suppressed and shown as “%2”, and so is any count that would let a reader work one out from the totals.</source>
        <translation>Los conteos menores de %1 se ocultan y se muestran como «%2», y también cualquier conteo que permitiría deducir uno de ellos a partir de los totales.</translation>
    </message>
    <message>
        <source>Screenings counted: %1</source>
        <translation>Tamizajes contados: %1</translation>
    </message>
    <message>
        <source>(%1 records could not be counted)</source>
        <translation>(%1 registros no se pudieron contar)</translation>
    </message>
    <message>
        <source>What these figures reveal: only how many children were screened, per risk tier, concern, age band, sex, nationality, site and week. No name, answer or story is in them. Small groups can still point at a child when combined with what a reader already knows, so keep this report within the organisation and do not compare it with reports of overlapping periods to work out hidden counts.</source>
        <translation>Lo que revelan estas cifras: solo cuántas niñas, niños y adolescentes fueron tamizados, por nivel de riesgo, necesidad, grupo de edad, sexo, nacionalidad, sitio y semana. No contienen nombres, respuestas ni relatos. Aun así, un grupo pequeño puede señalar a una niña o un niño si se combina con lo que el lector ya sabe: mantenga este informe dentro de la organización y no lo compare con informes de periodos que se traslapan para deducir conteos ocultos.</translation>
    </message>
    <message>
        <source>No screenings in this period.</source>
        <translation>No hay tamizajes en este periodo.</translation>
    </message>
    <message>
        <source>Table: %1</source>
        <translation>Tabla: %1</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>Grupo</translation>
    </message>
    <message>
        <source>Screenings</source>
        <translation>Tamizajes</translation>
    </message>
    <message>
        <source>Suppressed: fewer than %1</source>
        <translation>Oculto: menos de %1</translation>
    </message>
    <message>
        <source>suppressed</source>
        <translation>oculto</translation>
    </message>
    <message>
        <source>the server, for the sites you coordinate</source>
        <translation>el servidor, para los sitios que usted coordina</translation>
    </message>
    <message>
        <source>this laptop&apos;s screenings not yet sent</source>
        <translation>los tamizajes de esta computadora aún no enviados</translation>
    </message>
    <message>
        <source>FieldScreen coordinator report</source>
        <translation>Informe de coordinación de FieldScreen</translation>
    </message>
    <message>
        <source>Made %1 from %2.</source>
        <translation>Generado el %1 a partir de %2.</translation>
    </message>
    <message>
        <source>Page %1</source>
        <translation>Página %1</translation>
    </message>
    <message>
        <source>Save the report as PDF</source>
        <translation>Guardar el informe como PDF</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
    <message>
        <source>The report was saved as %1. It holds counts only, no names.</source>
        <translation>El informe se guardó como %1. Contiene solo conteos, sin nombres.</translation>
    </message>
</context>
<context>
    <name>ResultsPage</name>
    <message>
        <source>Results of this screening</source>
        <extracomment>The sign-off dialog&apos;s result code for &quot;Ask a supervisor later&quot;. A tier override was left for a supervisor: the screening waits as a draft. The tier the rules gave, before any override.</extracomment>
        <translation>Resultados de este tamizaje</translation>
    </message>
    <message>
        <source>Emergency steps</source>
        <translation>Pasos de emergencia</translation>
    </message>
    <message>
        <source>Protection concerns</source>
        <translation>Preocupaciones de protección</translation>
    </message>
    <message>
        <source>Deadlines</source>
        <translation>Plazos</translation>
    </message>
    <message>
        <source>Suggested referrals</source>
        <translation>Referencias sugeridas</translation>
    </message>
    <message>
        <source>Actions taken (required for an act-now case)</source>
        <translation>Acciones realizadas (obligatorio en un caso de actuar ya)</translation>
    </message>
    <message>
        <source>Actions taken</source>
        <translation>Acciones realizadas</translation>
    </message>
    <message>
        <source>&amp;Back to the form</source>
        <translation>&amp;Volver al formulario</translation>
    </message>
    <message>
        <source>&amp;Override tier…</source>
        <translation>&amp;Cambiar el nivel…</translation>
    </message>
    <message>
        <source>&amp;Release a referral…</source>
        <translation>&amp;Liberar una referencia…</translation>
    </message>
    <message>
        <source>A referral withheld by a risk (for example the consulate when the child fears the state) or declined by the child can be made only with a reason and a supervisor&apos;s sign-off.</source>
        <translation>Una referencia retenida por un riesgo (por ejemplo, el consulado cuando la niña o el niño teme a las autoridades) o rechazada por la niña o el niño solo se puede hacer con un motivo y la aprobación de una persona supervisora.</translation>
    </message>
    <message>
        <source>Referral &amp;sheet (PDF)…</source>
        <translation>&amp;Hoja de referencia (PDF)…</translation>
    </message>
    <message>
        <source>&amp;Finalise screening</source>
        <translation>&amp;Finalizar tamizaje</translation>
    </message>
    <message>
        <source>not assessed (%d questions that decide the tier have no answer)</source>
        <translation>sin evaluar (%d preguntas que deciden el nivel no tienen respuesta)</translation>
    </message>
    <message>
        <source>Risk tier: %s</source>
        <translation>Nivel de riesgo: %s</translation>
    </message>
    <message>
        <source>(overridden from %s)</source>
        <translation>(cambiado desde %s)</translation>
    </message>
    <message>
        <source>None found.</source>
        <translation>No se encontró ninguna.</translation>
    </message>
    <message>
        <source>Stay with the child, or make sure a trusted colleague does; never leave the child alone with the person they fear.</source>
        <translation>Quédese con la niña o el niño, o asegúrese de que lo haga una persona de confianza del equipo; nunca la o lo deje a solas con la persona a la que teme.</translation>
    </message>
    <message>
        <source>Call your organisation&apos;s emergency contact now, and the emergency services if someone&apos;s life or health is in danger.</source>
        <translation>Llame ahora al contacto de emergencia de su organización, y a los servicios de emergencia si la vida o la salud de alguien está en peligro.</translation>
    </message>
    <message>
        <source>Tell your protection lead or supervisor before the child leaves.</source>
        <translation>Avise a la persona responsable de protección o a la persona supervisora antes de que la niña o el niño se vaya.</translation>
    </message>
    <message>
        <source>Write what you did under &quot;Actions taken&quot; below.</source>
        <translation>Escriba lo que hizo en &quot;Acciones realizadas&quot;, más abajo.</translation>
    </message>
    <message>
        <source>Emergency contacts</source>
        <translation>Contactos de emergencia</translation>
    </message>
    <message>
        <source>No emergency contacts are set on this laptop: call your supervisor. An administrator adds them in Settings.</source>
        <translation>Esta computadora no tiene contactos de emergencia: llame a la persona supervisora. Una persona administradora los agrega en Ajustes.</translation>
    </message>
    <message>
        <source>Hours:</source>
        <translation>Horario:</translation>
    </message>
    <message>
        <source>Languages:</source>
        <translation>Idiomas:</translation>
    </message>
    <message>
        <source>No provider of this type in your site&apos;s directory.</source>
        <translation>No hay ningún servicio de este tipo en el directorio de su sitio.</translation>
    </message>
    <message>
        <source>No service directory for this site on this laptop yet, so no providers are shown. It comes with the next sync, or an administrator loads the file from IT in Settings → Service directory.</source>
        <translation>Esta computadora aún no tiene el directorio de servicios de este sitio, así que no se muestran servicios. Llega con la próxima sincronización, o una persona administradora carga el archivo que le da informática en Ajustes → Directorio de servicios.</translation>
    </message>
    <message>
        <source>Sample directory: fictional services. Do not refer anyone to them.</source>
        <translation>Directorio de ejemplo: servicios ficticios. No refiera a nadie a ellos.</translation>
    </message>
    <message>
        <source>withheld: a risk found in this screening holds back sharing with this recipient; only a supervisor can release it, with a reason</source>
        <translation>retenida: un riesgo encontrado en este tamizaje impide compartir con este destinatario; solo un supervisor puede liberarla, con un motivo</translation>
    </message>
    <message>
        <source>not made: the child declined this service</source>
        <translation>no se hace: la niña o el niño no aceptó este servicio</translation>
    </message>
    <message>
        <source>not shared: the child did not consent to this recipient</source>
        <translation>no se comparte: no dio su consentimiento para este destinatario</translation>
    </message>
    <message>
        <source>None suggested.</source>
        <translation>No hay sugerencias.</translation>
    </message>
    <message>
        <source>None worked out: this laptop does not know its site&apos;s country, so the legal deadlines (for example notifying the child-protection authority) cannot be shown. Follow your site&apos;s procedure; an administrator sets the country in Settings (Country of the site).</source>
        <translation>No se pudieron calcular: esta computadora no sabe en qué país está su sitio, así que no puede mostrar los plazos legales (por ejemplo, dar aviso a la autoridad de protección de la niñez). Siga el procedimiento de su sitio; una persona administradora indica el país en Ajustes (País del sitio).</translation>
    </message>
    <message>
        <source>Record the actions taken before finalising an act-now case.</source>
        <translation>Registre las acciones realizadas antes de finalizar un caso de actuar ya.</translation>
    </message>
    <message>
        <source>No legal deadline was started by this screening&apos;s answers.</source>
        <translation>Ninguna respuesta de este tamizaje inició un plazo legal.</translation>
    </message>
    <message>
        <source>No legal deadline for this case: none of its answers starts one for a site in %1. A deadline such as notifying the child-protection authority shows here as soon as an answer calls for it.</source>
        <translation>No hay plazo legal para este caso: en un sitio de %1, ninguna respuesta de este tamizaje inicia uno. Un plazo, como avisar a la autoridad de protección de la niñez, aparece aquí en cuanto una respuesta lo pide.</translation>
    </message>
    <message>
        <source>Override the risk tier</source>
        <translation>Cambiar el nivel de riesgo</translation>
    </message>
    <message>
        <source>Both the computed and the new tier are kept. Give the reason; a supervisor signs off with their passphrase next.</source>
        <translation>Se guardan el nivel calculado y el nuevo. Indique el motivo; después una persona supervisora lo aprueba con su frase de acceso.</translation>
    </message>
    <message>
        <source>Release a withheld or declined referral</source>
        <translation>Liberar una referencia retenida o rechazada</translation>
    </message>
    <message>
        <source>Only when it protects the child, for example a life-threatening injury or documents the child agrees to. Give the reason; a supervisor signs off with their passphrase next.</source>
        <translation>Solo cuando protege a la niña o al niño, por ejemplo ante una lesión que pone en peligro su vida o para documentos que la niña o el niño acepta. Escriba el motivo; después una persona supervisora lo aprueba con su frase de acceso.</translation>
    </message>
    <message>
        <source>A coordinator or administrator confirms this release.</source>
        <translation>Un coordinador o administrador confirma esta liberación.</translation>
    </message>
    <message>
        <source>Supervisor sign-off</source>
        <translation>Aprobación de supervisión</translation>
    </message>
    <message>
        <source>A coordinator or administrator confirms this override.</source>
        <translation>Una persona de coordinación o administración confirma este cambio.</translation>
    </message>
    <message>
        <source>Ask a supervisor &amp;later</source>
        <translation>Pedir a un supervisor &amp;después</translation>
    </message>
    <message>
        <source>Case code:</source>
        <translation>Código del caso:</translation>
    </message>
    <message>
        <source>Risk tier:</source>
        <translation>Nivel de riesgo:</translation>
    </message>
    <message>
        <source>Referrals (only those the child consented to)</source>
        <translation>Referencias (solo las que consintió)</translation>
    </message>
    <message>
        <source>Confidential. Hand this sheet only to the services listed. Destroy it after use.</source>
        <translation>Confidencial. Entregue esta hoja solo a los servicios indicados. Destrúyala después de usarla.</translation>
    </message>
    <message>
        <source>Referral sheet</source>
        <translation>Hoja de referencia</translation>
    </message>
    <message>
        <source>The PDF is not encrypted</source>
        <translation>El PDF no está cifrado</translation>
    </message>
    <message>
        <source>Anyone who gets this file can read it. Save it only where you must (a USB drive you keep with you, or print it), and delete it after use.</source>
        <translation>Cualquier persona que obtenga este archivo puede leerlo. Guárdelo solo donde sea necesario (una memoria USB que lleve consigo, o imprímalo) y bórrelo después de usarlo.</translation>
    </message>
    <message>
        <source>Save the referral sheet</source>
        <translation>Guardar la hoja de referencia</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
</context>
<context>
    <name>RoleDialog</name>
    <message>
        <source>Change the role of %1</source>
        <extracomment>Roles from least to most (a move down the list is a demotion: the vault moves to new keys).</extracomment>
        <translation>Cambiar la función de %1</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Función</translation>
    </message>
    <message>
        <source>Specialist</source>
        <translation>Especialista</translation>
    </message>
    <message>
        <source>Coordinator</source>
        <translation>Coordinación</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>Administración</translation>
    </message>
    <message>
        <source>&amp;Role</source>
        <translation>F&amp;unción</translation>
    </message>
</context>
<context>
    <name>SetAsidePanel</name>
    <message>
        <source>Answers set aside when the form was updated (read only; enter them again where they still apply):</source>
        <translation>Respuestas apartadas al actualizarse el formulario (solo lectura; vuelva a introducirlas donde sigan aplicando):</translation>
    </message>
    <message>
        <source>Answers set aside</source>
        <translation>Respuestas apartadas</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>Pregunta</translation>
    </message>
    <message>
        <source>Earlier answer</source>
        <translation>Respuesta anterior</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Motivo</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Remove %1</source>
        <translation>Quitar a %1</translation>
    </message>
    <message>
        <source>Rotate keys now</source>
        <translation>Cambiar las claves ahora</translation>
    </message>
    <message>
        <source>&amp;Remove the selected user…</source>
        <translation>&amp;Quitar el usuario seleccionado…</translation>
    </message>
    <message>
        <source>Rotate &amp;keys now…</source>
        <translation>Cambiar las &amp;claves ahora…</translation>
    </message>
    <message>
        <source>Add these accounts again: %1.</source>
        <translation>Vuelva a agregar estas cuentas: %1.</translation>
    </message>
    <message>
        <source>%2 removed; the vault moved to new keys (%1 keys re-encrypted).</source>
        <translation>Se quitó a %2; la bóveda pasó a claves nuevas (%1 claves cifradas de nuevo).</translation>
    </message>
    <message>
        <source>Remove %1?</source>
        <translation>¿Quitar a %1?</translation>
    </message>
    <message>
        <source>%1 will no longer be able to unlock this laptop. Their drafts and screenings stay here for the others. The vault then moves to new keys, so even a copy of the key file taken before opens nothing written afterwards; everyone else keeps their passphrase. With many records this takes a while: keep the laptop on.</source>
        <translation>%1 ya no podrá desbloquear esta computadora. Sus borradores y tamizajes se quedan aquí para los demás. Luego la bóveda pasa a claves nuevas, así que ni siquiera una copia del archivo de claves hecha antes abre lo que se escriba después; todos los demás conservan su frase de acceso. Con muchos registros esto tarda: mantenga la computadora encendida.</translation>
    </message>
    <message>
        <source>Removing a user needs your passphrase again.</source>
        <translation>Para quitar un usuario se necesita de nuevo su frase de acceso.</translation>
    </message>
    <message>
        <source>The vault moved to new keys (%1 keys re-encrypted).</source>
        <translation>La bóveda pasó a claves nuevas (%1 claves cifradas de nuevo).</translation>
    </message>
    <message>
        <source>Rotate keys now?</source>
        <translation>¿Cambiar las claves ahora?</translation>
    </message>
    <message>
        <source>Rotating the keys needs your passphrase again.</source>
        <translation>Para cambiar las claves se necesita de nuevo su frase de acceso.</translation>
    </message>
    <message>
        <source>Settings</source>
        <extracomment>Each listed account&apos;s role (login -&gt; role), as last listed.</extracomment>
        <translation>Ajustes</translation>
    </message>
    <message>
        <source>This laptop</source>
        <translation>Esta computadora</translation>
    </message>
    <message>
        <source>&amp;Save settings</source>
        <translation>&amp;Guardar ajustes</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>Personas usuarias</translation>
    </message>
    <message>
        <source>&amp;Add a user…</source>
        <translation>&amp;Añadir una persona usuaria…</translation>
    </message>
    <message>
        <source>Crossing a border, or a lost laptop</source>
        <translation>Cruce de frontera o computadora perdida</translation>
    </message>
    <message>
        <source>Travel mode seals every screening on this laptop, drafts included, to your organisation and deletes every readable copy. After it, nobody who unlocks the laptop (you included) can read them, and drafts cannot be continued here. Do it before crossing a border.</source>
        <translation>El modo viaje sella para su organización todos los tamizajes de esta computadora, incluidos los borradores, y borra todas las copias legibles. Después, nadie que la desbloquee (usted incluida/o) puede leerlos, y los borradores no se pueden continuar aquí. Actívelo antes de cruzar una frontera.</translation>
    </message>
    <message>
        <source>Switch on &amp;travel mode…</source>
        <translation>Activar el modo &amp;viaje…</translation>
    </message>
    <message>
        <source>Wipe destroys the keys and then every file of FieldScreen on this laptop: drafts, cases and anything not yet sent are lost for good. Use it only when the laptop is about to fall into the wrong hands.</source>
        <translation>El borrado destruye las claves y después todos los archivos de FieldScreen en esta computadora: los borradores, los casos y todo lo que no se haya enviado se pierden para siempre. Úselo solo cuando la computadora esté a punto de caer en malas manos.</translation>
    </message>
    <message>
        <source>&amp;Wipe this laptop…</source>
        <translation>B&amp;orrar esta computadora…</translation>
    </message>
    <message>
        <source>&amp;Back</source>
        <translation>&amp;Atrás</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>Lock after this many idle minutes</source>
        <translation>Bloquear tras estos minutos sin uso</translation>
    </message>
    <message>
        <source>During an interview, lock after this many idle minutes</source>
        <translation>Durante una entrevista, bloquear tras estos minutos sin uso</translation>
    </message>
    <message>
        <source>Days a finalised screening stays readable</source>
        <translation>Días que un tamizaje finalizado sigue legible</translation>
    </message>
    <message>
        <source>Users may switch on travel mode</source>
        <translation>Las personas usuarias pueden activar el modo viaje</translation>
    </message>
    <message>
        <source>Send screenings in the background</source>
        <translation>Enviar los tamizajes en segundo plano</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>Dirección del servidor</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Sitio</translation>
    </message>
    <message>
        <source>Country of the site</source>
        <translation>País del sitio</translation>
    </message>
    <message>
        <source>Emergency contacts of the organisation (separate them with ;)</source>
        <translation>Contactos de emergencia de la organización (sepárelos con ;)</translation>
    </message>
    <message>
        <source>Clear copied case text after (seconds)</source>
        <translation>Borrar el texto copiado de un caso tras (segundos)</translation>
    </message>
    <message>
        <source>Allow an unencrypted server address (testing only)</source>
        <translation>Permitir un servidor sin cifrado (solo para pruebas)</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <source>An administrator enrols this laptop with the organisation&apos;s server using a one-time code from IT. Until then everything works offline.</source>
        <translation>Un administrador inscribe esta computadora en el servidor de la organización con un código de un solo uso de informática. Mientras tanto todo funciona sin conexión.</translation>
    </message>
    <message>
        <source>&amp;Enrol with the server…</source>
        <translation>&amp;Inscribir en el servidor…</translation>
    </message>
    <message>
        <source>Service directory</source>
        <translation>Directorio de servicios</translation>
    </message>
    <message>
        <source>&amp;Load a service directory file…</source>
        <translation>&amp;Cargar un archivo de directorio de servicios…</translation>
    </message>
    <message>
        <source>Change the selected user&apos;s r&amp;ole…</source>
        <translation>Cambiar la f&amp;unción del usuario elegido…</translation>
    </message>
    <message>
        <source>Change &amp;my passphrase…</source>
        <translation>Cambiar &amp;mi frase de acceso…</translation>
    </message>
    <message>
        <source>Set by your organisation</source>
        <translation>Lo fija su organización</translation>
    </message>
    <message>
        <source>specialist</source>
        <translation>especialista</translation>
    </message>
    <message>
        <source>coordinator</source>
        <translation>coordinación</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>administración</translation>
    </message>
    <message>
        <source>Only an administrator enrols</source>
        <translation>Solo un administrador puede inscribir</translation>
    </message>
    <message>
        <source>Not set up for an organisation yet (no provisioning file).</source>
        <translation>Aún no está configurada para una organización (no hay archivo de aprovisionamiento).</translation>
    </message>
    <message>
        <source>Not enrolled yet with %1.</source>
        <translation>Aún no está inscrita en %1.</translation>
    </message>
    <message>
        <source>Enrolled with %1 as %2 at site %3.</source>
        <translation>Inscrita en %1 como %2 en el sitio %3.</translation>
    </message>
    <message>
        <source>No service directory for this site yet: referrals show no providers. It comes with the next sync, or load the signed file from IT here.</source>
        <translation>Aún no hay directorio de servicios para este sitio: las referencias no muestran servicios. Llega con la próxima sincronización, o cargue aquí el archivo firmado de informática.</translation>
    </message>
    <message>
        <source>Directory of %1, version %2: %3 services.</source>
        <translation>Directorio de %1, versión %2: %3 servicios.</translation>
    </message>
    <message>
        <source>Sample data: fictional services for demonstrations only.</source>
        <translation>Datos de ejemplo: servicios ficticios, solo para demostraciones.</translation>
    </message>
    <message>
        <source>Service directory file</source>
        <translation>Archivo de directorio de servicios</translation>
    </message>
    <message>
        <source>Directory files (*.json)</source>
        <translation>Archivos de directorio (*.json)</translation>
    </message>
    <message>
        <source>Settings saved.</source>
        <translation>Ajustes guardados.</translation>
    </message>
    <message>
        <source>Confirm with your passphrase</source>
        <translation>Confirme con su frase de acceso</translation>
    </message>
    <message>
        <source>Adding a user needs your passphrase again.</source>
        <translation>Para añadir una persona usuaria se necesita otra vez su frase de acceso.</translation>
    </message>
    <message>
        <source>Moving the vault to new keys: every record&apos;s key is re-encrypted. With many records this takes a while; keep the laptop on.</source>
        <translation>La bóveda pasa a claves nuevas: la clave de cada registro se cifra de nuevo. Con muchos registros tarda un rato; no apague la computadora.</translation>
    </message>
    <message>
        <source>New keys</source>
        <translation>Claves nuevas</translation>
    </message>
    <message>
        <source>Do this after a suspected compromise, such as a lost copy of the laptop&apos;s files. The vault moves to new keys and every record&apos;s key is re-encrypted; nothing is lost and everyone keeps their passphrase. Each account keeps its own key, so if someone saw a passphrase, its owner changes it instead (Change my passphrase gives them a new key and moves the vault to new keys): a rotation alone does not lock them out. With many records this takes a while: keep the laptop on.</source>
        <translation>Hágalo si sospecha un compromiso, como una copia perdida de los archivos de la computadora. La bóveda pasa a claves nuevas y la clave de cada registro se cifra de nuevo; no se pierde nada y todos conservan su frase de acceso. Cada cuenta conserva su propia clave: si alguien vio una frase de acceso, que su dueño la cambie (Cambiar mi frase de acceso le da una clave nueva y pasa la bóveda a claves nuevas); cambiar las claves no basta para dejar fuera a esa persona. Con muchos registros esto tarda: mantenga la computadora encendida.</translation>
    </message>
    <message>
        <source>Your passphrase was changed and the vault moved to new keys (%1 keys re-encrypted).</source>
        <translation>Su frase de acceso cambió y la bóveda pasó a claves nuevas (%1 claves cifradas de nuevo).</translation>
    </message>
    <message>
        <source>Your new passphrase works now; an administrator&apos;s next unlock signs your new key in.</source>
        <translation>Su frase de acceso nueva ya funciona; la próxima vez que un administrador desbloquee, firmará su clave nueva.</translation>
    </message>
    <message>
        <source>%2 is now %3; the vault moved to new keys (%1 keys re-encrypted).</source>
        <translation>%2 tiene ahora la función de %3; la bóveda pasó a claves nuevas (%1 claves cifradas de nuevo).</translation>
    </message>
    <message>
        <source>%2 is now %3.</source>
        <translation>%2 tiene ahora la función de %3.</translation>
    </message>
    <message>
        <source>%1 is already %2; nothing changed.</source>
        <translation>%1 ya tiene la función de %2; no cambió nada.</translation>
    </message>
    <message>
        <source>Change the role of %1</source>
        <translation>Cambiar la función de %1</translation>
    </message>
    <message>
        <source>Changing a role needs your passphrase again.</source>
        <translation>Para cambiar una función se necesita de nuevo su frase de acceso.</translation>
    </message>
    <message>
        <source>Make %1 %2?</source>
        <translation>¿Dar a %1 la función de %2?</translation>
    </message>
    <message>
        <source>%1 keeps their passphrase but loses what the role %2 allowed. The vault then moves to new keys, so a copy of the key file or of the administrator key kept from before gives nothing back. With many records this takes a while: keep the laptop on.</source>
        <translation>%1 conserva su frase de acceso pero pierde lo que permitía la función de %2. Luego la bóveda pasa a claves nuevas, así que una copia del archivo de claves o de la clave de administración guardada de antes no devuelve nada. Con muchos registros tarda un rato: no apague la computadora.</translation>
    </message>
    <message>
        <source>Travel mode is on: %d screenings sealed, readable copies deleted.</source>
        <translation>El modo viaje está activo: %d tamizajes sellados, copias legibles borradas.</translation>
    </message>
    <message>
        <source>Switch on travel mode</source>
        <translation>Activar el modo viaje</translation>
    </message>
    <message>
        <source>Screenings and drafts will no longer be readable on this laptop.</source>
        <translation>Los tamizajes y borradores dejarán de ser legibles en esta computadora.</translation>
    </message>
    <message>
        <source>Wipe this laptop?</source>
        <translation>¿Borrar esta computadora?</translation>
    </message>
    <message>
        <source>Everything FieldScreen keeps on this laptop is destroyed, including drafts and screenings not yet sent. This cannot be undone.</source>
        <translation>Se destruye todo lo que FieldScreen guarda en esta computadora, incluidos los borradores y los tamizajes aún no enviados. No se puede deshacer.</translation>
    </message>
    <message>
        <source>Confirm the wipe</source>
        <translation>Confirmar el borrado</translation>
    </message>
    <message>
        <source>Type your passphrase to wipe this laptop.</source>
        <translation>Escriba su frase de acceso para borrar esta computadora.</translation>
    </message>
</context>
<context>
    <name>Sync</name>
    <message>
        <source>Waiting to be sent</source>
        <extracomment>The states of a sealed record, in the order the screen lists them.</extracomment>
        <translation>Por enviar</translation>
    </message>
    <message>
        <source>Sending</source>
        <translation>Enviando</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>Entregado</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Falló</translation>
    </message>
    <message>
        <source>Held for review</source>
        <translation>Retenido para revisión</translation>
    </message>
    <message>
        <source>The server holds a different version of this record; IT will review it.</source>
        <translation>El servidor tiene otra versión de este registro; el equipo de informática lo revisará.</translation>
    </message>
    <message>
        <source>The server set this record aside for review.</source>
        <translation>El servidor apartó este registro para revisarlo.</translation>
    </message>
    <message>
        <source>This laptop was withdrawn; the record is held for review.</source>
        <translation>Esta computadora fue dada de baja; el registro queda retenido para revisión.</translation>
    </message>
    <message>
        <source>Looks like a restored old copy of the vault; held for review.</source>
        <translation>Parece una copia antigua restaurada de la bóveda; retenido para revisión.</translation>
    </message>
    <message>
        <source>The record&apos;s signature did not verify; tell IT.</source>
        <translation>La firma del registro no se pudo verificar; avise al equipo de informática.</translation>
    </message>
    <message>
        <source>This record&apos;s sealed copy was changed on this laptop after it was signed, so it was not sent; the readable record is kept. Tell IT.</source>
        <translation>La copia sellada de este registro se modificó en esta computadora después de firmarse, así que no se envió; el registro legible se conserva. Avise al equipo de informática.</translation>
    </message>
    <message>
        <source>The record is larger than the server accepts; tell IT.</source>
        <translation>El registro es más grande de lo que acepta el servidor; avise al equipo de informática.</translation>
    </message>
    <message numerus="yes">
        <source>%n waiting to be sent</source>
        <translation>
            <numerusform>%n por enviar</numerusform>
            <numerusform>%n por enviar</numerusform>
        </translation>
    </message>
    <message>
        <source>nothing waiting to be sent</source>
        <translation>nada por enviar</translation>
    </message>
    <message numerus="yes">
        <source>%n need attention</source>
        <translation>
            <numerusform>%n requiere atención</numerusform>
            <numerusform>%n requieren atención</numerusform>
        </translation>
    </message>
    <message>
        <source>background sync off</source>
        <translation>sincronización en segundo plano desactivada</translation>
    </message>
    <message>
        <source>server not reached yet</source>
        <translation>aún sin conexión con el servidor</translation>
    </message>
</context>
<context>
    <name>SyncPage</name>
    <message>
        <source>Sync with the organisation&apos;s server</source>
        <translation>Sincronizar con el servidor de la organización</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>Registro</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Qué pasó</translation>
    </message>
    <message>
        <source>Sealed screenings and their sync state</source>
        <translation>Tamizajes sellados y su estado de sincronización</translation>
    </message>
    <message>
        <source>Sync in progress</source>
        <translation>Sincronización en curso</translation>
    </message>
    <message>
        <source>&amp;Sync now</source>
        <translation>&amp;Sincronizar ahora</translation>
    </message>
    <message>
        <source>&amp;Retry failed</source>
        <translation>&amp;Reintentar los fallidos</translation>
    </message>
    <message>
        <source>Sync in the &amp;background</source>
        <translation>Sincronizar en segundo &amp;plano</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Volver</translation>
    </message>
    <message>
        <source>Set by your organisation; it cannot be changed here.</source>
        <translation>Lo fija su organización; no se puede cambiar aquí.</translation>
    </message>
    <message>
        <source>This laptop is not enrolled with a server yet. Finalised screenings stay sealed here, readable only by the central team, until it is enrolled or a coordinator carries them on a USB bundle.</source>
        <translation>Esta computadora aún no está inscrita en un servidor. Los tamizajes finalizados quedan sellados aquí, legibles solo por el equipo central, hasta que se inscriba o una persona coordinadora los lleve en un paquete USB.</translation>
    </message>
    <message>
        <source>Finalised screenings are sealed for the central team before they leave this laptop. Only record codes and states are shown here.</source>
        <translation>Los tamizajes finalizados se sellan para el equipo central antes de salir de esta computadora. Aquí solo se muestran códigos de registro y estados.</translation>
    </message>
    <message>
        <source>Syncing…</source>
        <translation>Sincronizando…</translation>
    </message>
    <message>
        <source>The sync did not finish: %1</source>
        <translation>La sincronización no terminó: %1</translation>
    </message>
    <message>
        <source>Sent %1, delivered %2, held for review %3.</source>
        <translation>Enviados %1, entregados %2, retenidos para revisión %3.</translation>
    </message>
    <message>
        <source>Handover packets sent %1, partner acknowledgements applied %2.</source>
        <translation>Paquetes de traspaso enviados %1, acuses de recibo de socios aplicados %2.</translation>
    </message>
    <message>
        <source>%1 handover packet(s) held, not sent: their partner is no longer in the site&apos;s service directory. They are kept sealed until someone decides (fieldscreen handover held).</source>
        <translation>%1 paquete(s) de traspaso retenido(s), sin enviar: su socio ya no está en el directorio de servicios del sitio. Se conservan sellados hasta que alguien decida (fieldscreen handover held).</translation>
    </message>
    <message>
        <source>the server could not be reached or refused the sync. The screenings stay sealed on this laptop; try again later or tell IT (%1).</source>
        <translation>no se pudo contactar con el servidor o este rechazó la sincronización. Los tamizajes siguen sellados en esta computadora; inténtelo más tarde o avise al equipo de informática (%1).</translation>
    </message>
    <message numerus="yes">
        <source>%n record(s) will be sent again.</source>
        <translation>
            <numerusform>Se volverá a enviar %n registro.</numerusform>
            <numerusform>Se volverán a enviar %n registros.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Tiers</name>
    <message>
        <source>Act now</source>
        <extracomment>True while screenings run the sample form instead of the built-in forms. Sync of this laptop (:class:`fieldscreen.sync.view.SyncViewModel`), None while it is not enrolled with a server. The coordinator&apos;s requests to the enrolled server (built in ``app.py`` over the vault&apos;s provisioning); None where there is no real vault (the server is then &quot;not enrolled&quot;). The supervisor queue (:class:`fieldscreen.ui.supervision.SupervisionModel`); None: the main window builds it over ``vault`` (tests and screenshots hand in their own). The coordinator&apos;s batch view (:class:`fieldscreen.ui.batches.BatchModel`), likewise. The coordinator&apos;s credential file chosen this session, on the Batches or the Report page (its path only, never its content; forgotten on lock).</extracomment>
        <translation>Actuar ya</translation>
    </message>
    <message>
        <source>Within 24 hours</source>
        <translation>En 24 horas</translation>
    </message>
    <message>
        <source>Within 72 hours</source>
        <translation>En 72 horas</translation>
    </message>
    <message>
        <source>Within 7 days</source>
        <translation>En 7 días</translation>
    </message>
    <message>
        <source>No current risk</source>
        <translation>Sin riesgo actual</translation>
    </message>
</context>
<context>
    <name>Time</name>
    <message>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>now</source>
        <translation>ahora</translation>
    </message>
    <message>
        <source>overdue by %1</source>
        <translation>atrasado %1</translation>
    </message>
    <message>
        <source>due in %1</source>
        <translation>vence en %1</translation>
    </message>
</context>
<context>
    <name>UnlockPage</name>
    <message>
        <source>FieldScreen is locked</source>
        <translation>FieldScreen está bloqueado</translation>
    </message>
    <message>
        <source>Case details are hidden. Enter your passphrase to continue.</source>
        <translation>Los datos de los casos están ocultos. Escriba su frase de acceso para continuar.</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Frase de acceso</translation>
    </message>
    <message>
        <source>&amp;User</source>
        <translation>&amp;Usuario</translation>
    </message>
    <message>
        <source>&amp;Passphrase</source>
        <translation>&amp;Frase de acceso</translation>
    </message>
    <message>
        <source>&amp;Unlock</source>
        <translation>&amp;Desbloquear</translation>
    </message>
    <message>
        <source>FieldScreen locked itself after %d min without use. Your work is saved and case details are hidden. Press Enter, or click the passphrase box, to type your passphrase.</source>
        <translation>FieldScreen se bloqueó por sí solo tras %d min sin uso. Su trabajo está guardado y los datos de los casos están ocultos. Pulse Intro, o haga clic en el campo de la frase de acceso, para escribirla.</translation>
    </message>
    <message>
        <source>Press Enter to type your passphrase</source>
        <translation>Pulse Intro para escribir su frase de acceso</translation>
    </message>
    <message>
        <source>Type your passphrase, then press Enter.</source>
        <translation>Escriba su frase de acceso y luego pulse Intro.</translation>
    </message>
    <message>
        <source>Unlocking…</source>
        <translation>Desbloqueando…</translation>
    </message>
    <message>
        <source>Wait %d s</source>
        <translation>Espere %d s</translation>
    </message>
</context>
<context>
    <name>WizardPage</name>
    <message>
        <source>Save status</source>
        <translation>Estado del guardado</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Avance</translation>
    </message>
    <message>
        <source>&amp;Back</source>
        <translation>&amp;Atrás</translation>
    </message>
    <message>
        <source>&amp;Pause and save</source>
        <translation>&amp;Pausar y guardar</translation>
    </message>
    <message>
        <source>S&amp;top interview…</source>
        <translation>&amp;Detener la entrevista…</translation>
    </message>
    <message>
        <source>&amp;Next</source>
        <translation>&amp;Siguiente</translation>
    </message>
    <message>
        <source>This draft was started with an earlier version of the form; all answers were kept.</source>
        <translation>Este borrador se empezó con una versión anterior del formulario; se conservaron todas las respuestas.</translation>
    </message>
    <message>
        <source>This draft was started with an earlier version of the form; the answers that no longer fit are shown below, set aside.</source>
        <translation>Este borrador se empezó con una versión anterior del formulario; las respuestas que ya no encajan se muestran abajo, apartadas.</translation>
    </message>
    <message>
        <source>%d suggested rows added. Check each one and complete or remove it.</source>
        <translation>Se agregaron %d filas sugeridas. Revise cada una y complétela o quítela.</translation>
    </message>
    <message>
        <source>Every suggestion is already listed.</source>
        <translation>Todas las sugerencias ya están en la lista.</translation>
    </message>
    <message>
        <source>Added to this screening: %s. It follows the current page.</source>
        <translation>Se añadió a este tamizaje: %s. Viene después de esta página.</translation>
    </message>
    <message>
        <source>Tier: not assessed yet</source>
        <translation>Nivel: aún sin evaluar</translation>
    </message>
    <message>
        <source>%d questions that decide the tier have no answer yet.</source>
        <translation>%d preguntas que deciden el nivel aún no tienen respuesta.</translation>
    </message>
    <message>
        <source>Tier so far: %s</source>
        <translation>Nivel hasta ahora: %s</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
    <message>
        <source>✓ Saved</source>
        <translation>✓ Guardado</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>No guardado</translation>
    </message>
    <message>
        <source>&amp;Review results</source>
        <translation>&amp;Revisar resultados</translation>
    </message>
    <message>
        <source>Page %1 of %2</source>
        <translation>Página %1 de %2</translation>
    </message>
    <message>
        <source>%d answers are needed on this page.</source>
        <translation>Faltan %d respuestas en esta página.</translation>
    </message>
    <message>
        <source>An answer is needed on this page.</source>
        <translation>Falta una respuesta en esta página.</translation>
    </message>
    <message>
        <source>Stop the interview</source>
        <translation>Detener la entrevista</translation>
    </message>
    <message>
        <source>The answers so far stay saved as a draft. Choose why the interview stopped; a colleague may resume it later.</source>
        <translation>Las respuestas hasta ahora quedan guardadas como borrador. Elija por qué se detuvo la entrevista; un colega puede continuarla después.</translation>
    </message>
    <message>
        <source>The child asked to stop</source>
        <translation>Pidió parar</translation>
    </message>
    <message>
        <source>An answer added the page “%1”.</source>
        <translation>Una respuesta añadió la página «%1».</translation>
    </message>
    <message>
        <source>An answer added %1 pages; the first is “%2”.</source>
        <translation>Una respuesta añadió %1 páginas; la primera es «%2».</translation>
    </message>
    <message>
        <source>After an answer, the page “%1” is no longer needed.</source>
        <translation>Después de una respuesta, la página «%1» ya no hace falta.</translation>
    </message>
    <message>
        <source>After an answer, %1 pages are no longer needed; the first is “%2”.</source>
        <translation>Después de una respuesta, %1 páginas ya no hacen falta; la primera es «%2».</translation>
    </message>
    <message>
        <source>The child was too distressed</source>
        <translation>Estaba demasiado angustiado/a</translation>
    </message>
    <message>
        <source>Interrupted or moved</source>
        <translation>Interrupción o traslado</translation>
    </message>
    <message>
        <source>No interpreter available</source>
        <translation>No hay intérprete disponible</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>Otro</translation>
    </message>
</context>
</TS>
