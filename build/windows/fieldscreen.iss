; Inno Setup script for the Windows installer of FieldScreen.
; Build on Windows after `make dist` (or `python build/build.py`):
;   iscc /DAppVersion=0.1.0 build\windows\fieldscreen.iss
; Silent install with provisioning, for IT rolling out many laptops:
;   FieldScreen-Setup-0.1.0.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /PROVISION="D:\fieldscreen-provisioning.json"
; The provisioning file is copied beside fieldscreen.exe, where first run picks it up.
; Uninstalling removes the program only; the encrypted data in %LOCALAPPDATA%\FieldScreen stays
; unless the user wipes it from the app (Settings > Wipe) first, or IT runs `fieldscreen wipe`.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C0F5B7E-2B8A-4F1B-9B52-3E4D2A1C9F10}
AppName=FieldScreen
AppVersion={#AppVersion}
AppPublisher=FieldScreen
DefaultDirName={autopf}\FieldScreen
DefaultGroupName=FieldScreen
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=FieldScreen-Setup-{#AppVersion}
SetupIconFile=..\..\resources\icons\fieldscreen.ico
UninstallDisplayIcon={app}\fieldscreen.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "es"; MessagesFile: "compiler:Languages\Spanish.isl"

[Files]
Source: "..\..\dist\fieldscreen\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{param:PROVISION}"; DestDir: "{app}"; DestName: "fieldscreen-provisioning.json"; Flags: external skipifsourcedoesntexist; Check: HasProvisioning

[Icons]
Name: "{autoprograms}\FieldScreen"; Filename: "{app}\fieldscreen.exe"
Name: "{autodesktop}\FieldScreen"; Filename: "{app}\fieldscreen.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Run]
Filename: "{app}\fieldscreen.exe"; Parameters: "--self-test"; Flags: runhidden waituntilterminated; StatusMsg: "Checking the installation..."
Filename: "{app}\fieldscreen.exe"; Description: "{cm:LaunchProgram,FieldScreen}"; Flags: nowait postinstall skipifsilent

[Code]
function HasProvisioning: Boolean;
begin
  Result := ExpandConstant('{param:PROVISION|}') <> '';
end;
