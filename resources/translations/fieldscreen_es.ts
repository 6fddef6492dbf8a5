<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name>MainWindow</name>
    <message>
        <source>FieldScreen</source>
        <translation>FieldScreen</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>FieldScreen</source>
        <translation>FieldScreen</translation>
    </message>
    <message>
        <source>Protection screening for children on the move. Everything you record stays encrypted on this laptop until it is sent, sealed, to your organisation.</source>
        <translation>Tamizaje de protección para niñas, niños y adolescentes en movilidad. Todo lo que registre queda cifrado en esta computadora hasta que se envía, sellado, a su organización.</translation>
    </message>
    <message>
        <source>Version %s</source>
        <translation>Versión %s</translation>
    </message>
</context>
</TS>