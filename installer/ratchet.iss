; Inno Setup script: the Windows installer of Ratchet, over the PyInstaller one-folder app.
; Not built here (no Windows on the build machines). On a Windows x64 machine with Python 3.11,
; from the repository root:
;
;   py -3.11 -m venv .venv
;   .venv\Scripts\pip install -r requirements\lock.txt
;   .venv\Scripts\pip install --no-deps -e .
;   .venv\Scripts\pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller installer\ratchet.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installer\ratchet.iss
;
; which makes dist\ratchet-0.1.0-setup.exe. dist\ratchet\ holds ratchet.exe (the console
; program: the command line, with output and exit codes) and ratchetw.exe (the same app without
; a console window, for the Start menu and double-clicked bundles) over one _internal\ folder.
;
; The trust store: Ratchet reads $RATCHET_TRUST_STORE first, and it has no system-wide path of
; its own on Windows (/etc/ratchet/trust.json is the Linux one). So the installer puts the
; organisation's trust store in %ProgramData%\Ratchet\trust.json (writable by administrators
; only; kept on upgrade and uninstall, like the .deb's conffile) and sets RATCHET_TRUST_STORE
; machine-wide to it. The administrator replaces that file with the organisation's own.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Ratchet"
#define AppDir "..\dist\ratchet"

[Setup]
AppId={{6B0F3E52-8C1D-4E57-9A53-2F6D2C0E7A41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Ratchet maintainers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
ChangesEnvironment=yes
UninstallDisplayIcon={app}\ratchet.exe
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir=..\dist
OutputBaseFilename=ratchet-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#AppDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The organisation's trust store: the demo one until the administrator replaces it.
Source: "..\coefficients\trust.json"; DestDir: "{commonappdata}\Ratchet"; Flags: onlyifdoesntexist uninsneveruninstall

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\ratchetw.exe"; Comment: "Score CSV files with verified models and keep them honest"
Name: "{group}\{#AppName} command prompt"; Filename: "{cmd}"; Parameters: "/k ""set PATH={app};%PATH%&& ratchet --help"""; WorkingDir: "{userdocs}"; Comment: "A command prompt where the ratchet command works"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\ratchetw.exe"; Tasks: desktopicon

[Registry]
; Double-clicking a .ratchet bundle opens the app on its import dialog (verified first).
Root: HKA; Subkey: "Software\Classes\.ratchet"; ValueType: string; ValueName: ""; ValueData: "Ratchet.Bundle"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ratchet"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-ratchet-bundle"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Ratchet.Bundle"; ValueType: string; ValueName: ""; ValueData: "Ratchet model bundle"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Ratchet.Bundle\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\ratchetw.exe,0"
Root: HKA; Subkey: "Software\Classes\Ratchet.Bundle\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\ratchetw.exe"" ""%1"""
; The organisation's trust store, for every user of the machine.
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: string; ValueName: "RATCHET_TRUST_STORE"; ValueData: "{commonappdata}\Ratchet\trust.json"; Flags: uninsdeletevalue

[Run]
Filename: "{app}\ratchetw.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
