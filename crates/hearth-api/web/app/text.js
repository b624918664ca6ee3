// Every word the app shows, in one place, so that it can be translated. `t("key", {n: 3})`
// fills `{n}`; a key whose text is a function gets the parameters instead.
const EN = {
  "app.name": "Hearth",
  "app.starting": "Hearth is starting…",
  "app.offline": "The box does not answer. Check that it is on and that this phone or computer is on the same network, then try again.",
  "app.reload": "This page is from an older version of Hearth. Reload it.",
  "nav.photos": "Photos",
  "nav.box": "Box",
  "nav.devices": "Devices",
  "nav.albums": "Albums",
  "nav.family": "Family",
  "nav.about": "About",
  "account.logout": "Log out",
  "account.signed_in_as": "Signed in as {name}",

  "claim.title": "Welcome to your Hearth",
  "claim.lead": "This box has no owner yet. Choose the name and password you will log in with; you can add the rest of the family next.",
  "claim.name": "Your user name",
  "claim.display": "Your name as the family sees it (optional)",
  "claim.password": "Password (8 characters or more)",
  "claim.code": "Setup code (shown on the box's screen or console)",
  "claim.submit": "Claim this Hearth",
  "login.title": "Log in",
  "login.expired": "Your session ended. Log in again to go on where you were.",
  "login.name": "User name",
  "login.password": "Password",
  "login.submit": "Log in",

  "photos.title": "Photos",
  "photos.add": "Add photos and videos",
  "photos.empty": "No photos yet. Add some here, or pair a phone so that its camera roll arrives by itself.",
  "photos.sending": "Sending {i} of {n}: {name}",
  "photos.sent": (p) => `${p.done} added` + (p.duplicates ? `, ${p.duplicates} already here` : "") + (p.failed ? `; not added: ${p.failed}` : ""),
  "photos.month": "{month} {year}",
  "photos.count": (p) => p.n === 1 ? "1 photo" : `${p.n.toLocaleString()} photos`,
  "photos.jump": "Jump to a year",
  "photos.no_preview": "No preview",
  "photos.video": "Video, {duration}",
  "photos.photo_of": "Photo taken {date}",

  "viewer.label": "Photo viewer",
  "viewer.close": "Back to the photos",
  "viewer.previous": "Previous",
  "viewer.next": "Next",
  "viewer.info": "Information",
  "viewer.favourite": "Favourite",
  "viewer.unfavourite": "Remove from favourites",
  "viewer.archive": "Archive",
  "viewer.unarchive": "Unarchive",
  "viewer.trash": "Move to trash",
  "viewer.trashed": "Moved to the trash. It stays there 30 days.",
  "viewer.download": "Download",
  "viewer.zoom": "Zoom",
  "viewer.taken": "Taken",
  "viewer.camera": "Camera",
  "viewer.place": "Place",
  "viewer.position": "Position",
  "viewer.file": "File",
  "viewer.size": "{w} × {h}, {bytes}",
  "viewer.no_date": "Date unknown",
  "viewer.problem": "Hearth could not read everything about this file: {problem}",

  "box.title": "The box",
  "box.about": "About Hearth and its credits",
  "box.device": "“{name}” · Hearth {version} · {board}",
  "box.fingerprint": "HTTPS certificate fingerprint (SHA-256): {sha}",
  "box.space": "Disk space",
  "box.space_line": "{free} free of {total}",
  "box.memory": "Hearth's memory: {used}",
  "box.services": "Services",
  "box.service": "Service",
  "box.state": "State",
  "box.restarts": "Restarts",
  "box.activity": "Activity",
  "box.idle": "Nothing is waiting. New photos get their thumbnails within seconds.",
  "box.job.thumbnails": "Making thumbnails",
  "box.job_line": (p) => `${p.done.toLocaleString()} done, ${p.left.toLocaleString()} to go` + (p.failed ? `, ${p.failed} failed` : "") + (p.eta ? ` · about ${p.eta} left` : ""),
  "state.running": "running",
  "state.starting": "starting",
  "state.backing_off": "restarting soon",
  "state.failed": "stopped after failing",
  "state.quarantined": "set aside",
  "state.stopped": "stopped",

  "family.title": "Family",
  "family.people": "Who can log in",
  "family.name": "Name",
  "family.role": "Role",
  "family.role_of": "Role of {name}",
  "family.actions": "Actions",
  "family.reset": "New password",
  "family.reset_submit": "Set password",
  "family.new_password_for": "New password for {name} (8 characters or more)",
  "family.password_reset": "{name} has a new password; their other sessions ended.",
  "family.remove": "Remove",
  "family.remove_confirm": "Remove {name}? They can no longer log in. Their photos and files stay on the box.",
  "family.removed": "{name} was removed.",
  "family.role_changed": "{name}'s role changed.",
  "family.add": "Add someone",
  "family.login_name": "Login name (letters, digits, . _ -)",
  "family.display_name": "Name as the family sees it (optional)",
  "family.first_password": "First password (8 characters or more; they can change it)",
  "family.add_submit": "Add",
  "family.added": "{name} can log in now.",
  "family.app_passwords": "App passwords",
  "family.app_passwords_lead": "Apps on your phone or computer log in with an app password of their own, never your password. Revoke one and only that app is logged out.",
  "family.token_name": "For",
  "family.token_used": "Last used",
  "family.no_tokens": "No app passwords yet.",
  "family.never": "never",
  "family.revoke": "Revoke",
  "family.revoked": "The app password for {name} no longer works.",
  "family.token_for": "Which app or device is it for?",
  "family.token_placeholder": "Anna's phone, Nextcloud app",
  "family.token_create": "Create an app password",
  "family.token_once": "Here is the app password. It is shown only now; write it into the app or scan the code.",
  "family.token_qr": "QR code: the box's address, your name and this app password",
  "family.token_qr_lead": "In the Nextcloud app: Log in → scan the QR code.",
  "role.member": "Member",
  "role.admin": "Admin",
  "role.owner": "Owner",

  "devices.title": "Phones and computers",
  "devices.this_box": "This box's sync ID",
  "devices.this_box_lead": "In the Syncthing app on a phone or computer: add a device and scan this code (or type the ID). The box then shows the device below, to accept.",
  "devices.qr": "QR code of this box's sync ID",
  "devices.copy": "Copy the ID",
  "devices.copied": "The ID is copied.",
  "devices.waiting": "Waiting to be accepted",
  "devices.none_waiting": "No device is asking. Add this box in the Syncthing app, and it shows up here within seconds.",
  "devices.asks": "{name} asks to sync with this box (from {address}).",
  "devices.accept": "Accept",
  "devices.accepted": "{name} is paired. Folders it offers appear below.",
  "devices.paired": "Paired devices",
  "devices.none_paired": "No devices yet.",
  "devices.connected": "connected",
  "devices.not_connected": "not connected",
  "devices.remove": "Unpair",
  "devices.removed": "{name} is no longer paired. Its files on the box stay.",
  "devices.offers": "Folders offered to the box",
  "devices.no_offers": "No folder is waiting. When a paired phone shares a folder with the box, it appears here.",
  "devices.offer": "{device} offers the folder “{label}”.",
  "devices.offer_explained": "The box receives this folder: everything the phone adds arrives here and is kept. The box never changes or deletes anything on the phone.",
  "devices.photos_of": "Photos in it go to the timeline of",
  "devices.no_photos": "nobody (keep the files only)",
  "devices.accept_folder": "Receive this folder",
  "devices.folder_accepted": "The box receives “{label}” now.",
  "devices.folders": "Folders",
  "devices.none_folders": "No folders are shared yet.",
  "devices.folder_line": (p) => `${p.files.toLocaleString()} files, ${p.size}` + (p.need ? ` · ${p.need.toLocaleString()} to receive` : ""),
  "devices.state.idle": "up to date",
  "devices.state.scanning": "looking for changes",
  "devices.state.syncing": "receiving",
  "devices.state.error": "stopped by an error",

  "search.title": "Search",
  "search.open": "Search",
  "search.label": "Search for a place, a camera or a file name",
  "search.kind": "Photos or videos",
  "search.any": "Photos and videos",
  "search.photos": "Photos",
  "search.videos": "Videos",
  "search.favourites": "Favourites only",
  "search.go": "Search",
  "search.hint": "Type a town, a country, a phone or part of a file name. Every word must match.",
  "search.searching": "Searching…",
  "search.none": "Nothing found. Try fewer words, or the beginning of a word.",
  "search.many": (p) => `The newest ${p.n.toLocaleString()} found`,
  "search.kind_place": (p) => `place · ${p.n === 1 ? "1 photo" : `${p.n} photos`}`,
  "search.kind_camera": (p) => `camera · ${p.n === 1 ? "1 photo" : `${p.n} photos`}`,

  "albums.title": "Albums",
  "albums.empty": "No albums yet. Choose photos in the timeline (Select) and add them to a new album.",
  "albums.all": "All albums",
  "albums.share": "Share",
  "albums.delete": "Delete this album",
  "albums.delete_confirm": "Delete this album? Its photos stay in the timeline; its share links stop working.",
  "albums.links": "Share links",
  "albums.no_links": "Not shared by link.",
  "albums.link": "Link",
  "albums.with_password": "with a password",
  "albums.until": "until {date}",
  "albums.uploads_allowed": "visitors may add photos",
  "albums.revoke": "Stop sharing",
  "albums.revoked": "The link no longer works.",
  "albums.no_photos": "No photos in this album yet.",
  "albums.choose": "Add to album",
  "albums.new": "New album…",
  "albums.new_title": "Title of the new album",
  "albums.added": (p) => `${p.n} added to “${p.title}”.`,

  "select.start": "Select",
  "select.count": (p) => p.n === 1 ? "1 selected" : `${p.n} selected`,
  "select.cancel": "Cancel",
  "select.share": "Share",
  "select.favourite": "Favourite",
  "select.trash": "Trash",
  "select.trashed": (p) => `${p.n} moved to the trash.`,

  "share.title": "Share by link",
  "share.description": "What it is (shown to visitors, optional)",
  "share.password": "Password (optional)",
  "share.expires": "Link works",
  "share.never": "until you stop it",
  "share.day": "for a day",
  "share.week": "for a week",
  "share.month": "for 30 days",
  "share.allow_download": "Visitors may download the originals",
  "share.allow_upload": "Visitors may add their own photos",
  "share.create": "Make the link",
  "share.made": "Anyone with this link can see these photos. It is shown only now.",
  "share.copy": "Copy the link",
  "share.copied": "The link is copied.",
  "share.qr": "QR code of the link",
  "share.close": "Done",

  "shared.title": "Shared photos",
  "shared.from": (p) => `Shared by ${p.name} · ${p.n === 1 ? "1 photo" : `${p.n} photos`}`,
  "shared.until": "The link works until {date}.",
  "shared.gone_title": "This link does not work",
  "shared.gone": "It has expired, or the person who shared it stopped sharing. Ask them for a new link.",
  "shared.locked": "This link has a password",
  "shared.password": "Password",
  "shared.open": "Open",
  "shared.add": "Add your photos",

  "about.title": "About Hearth",
  "about.lead": "Hearth keeps your family's photos and files at home, on this box.",
  "about.places": "Place names come from GeoNames (geonames.org), licensed under Creative Commons Attribution 4.0.",

  "error.generic": "Something went wrong ({status}). Try again; if it keeps happening, restart the box from its page.",
  "error.network": "The box did not answer. Check your connection and try again.",
  "error.not_found": "There is nothing here. It may have been removed.",
};

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

export function t(key, params = {}) {
  const text = EN[key];
  if (text === undefined) return key;
  if (typeof text === "function") return text(params);
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`).toString());
}

export function monthName(month) {
  return MONTHS[month - 1] ?? String(month);
}

export function bytes(n) {
  if (n == null) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor(seconds % 3600 / 60)} min`;
}

// A photo's own local time: its UTC instant moved by the offset it was taken at, shown as is.
export function takenDate(takenAt, offsetMinutes, withTime = true) {
  if (takenAt == null) return t("viewer.no_date");
  const local = new Date((takenAt + (offsetMinutes ?? 0) * 60) * 1000);
  const opts = { timeZone: "UTC", year: "numeric", month: "long", day: "numeric" };
  if (withTime) Object.assign(opts, { hour: "2-digit", minute: "2-digit" });
  return local.toLocaleString(undefined, opts);
}
