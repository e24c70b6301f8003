# `systemd-escape --path`, in plain Nix (builtins only: tests/test_nix.py evaluates it without
# nixpkgs and compares it with systemd's own tool). "/mnt/my-photos" is mnt-my\x2dphotos and
# "/mnt/my/photos" mnt-my-photos: two libraries never share a unit name; "/mnt/My Photos" is
# mnt-My\x20Photos, a valid one. A path with bytes outside printable ASCII is refused at
# evaluation (systemd would escape each byte; this table stops at ASCII).
let
  # the printable ASCII characters, in order from 0x20
  table = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  hexDigits = "0123456789abcdef";
  hexOf = n: builtins.substring (n / 16) 1 hexDigits + builtins.substring (n - 16 * (n / 16)) 1 hexDigits;
  chars = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);
  indexOf = c:
    let hits = builtins.filter (i: builtins.substring i 1 table == c) (builtins.genList (i: i) (builtins.stringLength table));
    in if hits == [ ] then throw "systemd-escape: ${builtins.toJSON c} is outside printable ASCII; name this library by an ASCII path (a symlink)" else builtins.head hits;
  safe = c: builtins.match "[A-Za-z0-9:_.]" c != null;
  escapeChar = first: c:
    if c == "/" then "-"
    else if safe c && !(first && c == ".") then c
    else "\\x" + hexOf (indexOf c + 32);
  # "/a//b/" -> "a/b": the path's names, as systemd normalises it first
  names = path: builtins.filter (n: builtins.isString n && n != "" && n != ".") (builtins.split "/" path);
  escapePath = path:
    let
      normal = builtins.concatStringsSep "/" (names path);
      cs = chars normal;
    in
    if normal == "" then "-"
    else builtins.concatStringsSep "" (builtins.genList (i: escapeChar (i == 0) (builtins.elemAt cs i)) (builtins.length cs));
in
{ inherit escapePath; }
