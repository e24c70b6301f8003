# services.mediapipe: mediapipe on NixOS, the way deploy/systemd/ runs it elsewhere, shaped like
# nixpkgs' services.immich (package, settings, environment, secretsFile, accelerationDevices,
# mediaLocation 0700, Redis on a unix socket).
#
#   imports = [ ./deploy/nixos/mediapipe.nix ];
#   services.mediapipe = {
#     enable = true;                         # package: ./package.nix, built from this source
#     mediaLocation = "/srv/media";
#     libraries = [ "/mnt/photos" "/mnt/phone" ];
#     workers.cpu = { queues = [ "metadata" "thumbnails" ]; metricsPort = 19101; };
#     workers.gpu = { queues = [ "video" ]; gpu = true; metricsPort = 19102; };
#     accelerationDevices = [ "/dev/nvidiactl" "/dev/nvidia0" "/dev/nvidia-uvm" ];
#     settings.thumbnails.preview.size = 1440;   # any setting of `mediapipe config sample`
#     ingest.timer = "*-*-* 03:00:00";
#   };
{ config, lib, pkgs, ... }:

let
  cfg = config.services.mediapipe;
  inherit (lib) mkEnableOption mkOption mkIf mkMerge types concatStringsSep nameValuePair
    optionals optionalAttrs listToAttrs escapeShellArg;
  inherit (import ./escape.nix) escapePath;

  settingsFormat = pkgs.formats.json { };
  configFile = settingsFormat.generate "mediapipe.json" cfg.settings;
  redisSocket = config.services.redis.servers.mediapipe.unixSocket;

  # Each --watch service has its own port, counting up from ingest.metricsPort; with the
  # workers' ports they must all differ (asserted below), and openFirewall opens them all.
  watchPorts = optionals (cfg.ingest.watch && cfg.ingest.metricsPort != null)
    (lib.imap0 (i: _: cfg.ingest.metricsPort + i) cfg.libraries);
  workerPorts = lib.filter (p: p != null) (map (w: w.metricsPort) (lib.attrValues cfg.workers));
  allPorts = workerPorts ++ watchPorts;

  environment = {
    MEDIAPIPE_MEDIA_ROOT = cfg.mediaLocation;
    MEDIAPIPE_CONFIG = "${configFile}";
    MEDIAPIPE_FFMPEG_ACCEL = cfg.accel;
  } // optionalAttrs cfg.redis.enable { MEDIAPIPE_BROKER_URL = "unix://${redisSocket}"; }
    // cfg.environment;

  # The media root made at the first start only: the stamp keeps `init` from ever marking an
  # empty mount point later (an unmounted disk must stay visible as one).
  initOnce = "${pkgs.runtimeShell} -c 'test -e \"$$STATE_DIRECTORY/initialised\" || { ${cfg.package}/bin/mediapipe init >/dev/null && touch \"$$STATE_DIRECTORY/initialised\"; }'";

  common = {
    User = cfg.user;
    Group = cfg.group;
    StateDirectory = "mediapipe";
    StateDirectoryMode = "0750";
    # The place index and the zone table, built at the first start and mapped by every later
    # process (mediapipe finds the folder in $CACHE_DIRECTORY; the user's home is /var/empty).
    CacheDirectory = "mediapipe";
    CacheDirectoryMode = "0750";
    ExecStartPre = initOnce;
    EnvironmentFile = optionals (cfg.secretsFile != null) [ cfg.secretsFile ];
    ReadWritePaths = [ cfg.mediaLocation ];
    ProtectSystem = "strict";
    ProtectHome = "read-only";
    PrivateTmp = true;
    PrivateDevices = true;
    NoNewPrivileges = true;
    CapabilityBoundingSet = "";
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" "~@privileged @resources" ];
    SystemCallErrorNumber = "EPERM";
    UMask = "0077";
    TasksMax = 256;
    LimitNOFILE = 16384;
  };

  unitBase = {
    wants = [ "network-online.target" ];
    after = [ "network-online.target" ] ++ optionals cfg.redis.enable [ "redis-mediapipe.service" ];
    unitConfig.RequiresMountsFor = [ cfg.mediaLocation ];
    inherit environment;
    path = [ pkgs.ffmpeg-headless pkgs.exiftool ];
  };

  mediapipe = "${cfg.package}/bin/mediapipe --log-format json";
  metricsArgs = port: "--metrics-port ${toString port} --metrics-address ${cfg.metricsAddress}";

  devices = w: optionalAttrs w.gpu (if cfg.accelerationDevices == null
    then { PrivateDevices = false; }
    else {
      PrivateDevices = cfg.accelerationDevices == [ ];
      DevicePolicy = "closed";
      DeviceAllow = map (d: "${d} rw") cfg.accelerationDevices;
    });

  workerUnit = name: w: nameValuePair "mediapipe-worker-${name}" (unitBase // {
    description = "mediapipe worker ${name} (${concatStringsSep "," w.queues})";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = common // {
      Type = "exec";
      ExecStart = concatStringsSep " " ([ "${mediapipe} --log-level info worker"
        "-Q ${concatStringsSep "," w.queues}" "-n ${name}@%H" ]
        ++ optionals (w.concurrency != null) [ "-c ${toString w.concurrency}" ]
        ++ optionals (w.metricsPort != null) [ (metricsArgs w.metricsPort) ]);
      KillMode = "mixed";
      TimeoutStopSec = "15min";
      Restart = "on-failure";
      RestartSec = "10s";
      RuntimeDirectory = "mediapipe-worker-${name}";
      RuntimeDirectoryMode = "0700";
      MemoryHigh = "6G";
      MemoryMax = "8G";
      TasksMax = 512;
    } // devices w;
  });

  # The nightly run and the watch of one library never stop each other: each library has its
  # own lock; a nightly run that finds the watch holding it exits 17, a success here.
  ingestUnit = library: nameValuePair "mediapipe-ingest-${escapePath library}" (unitBase // {
    description = "mediapipe ingest of ${library}";
    serviceConfig = common // {
      Type = "oneshot";
      ExecStart = "${mediapipe} ingest ${escapeShellArg library}"
        + lib.optionalString (cfg.ingest.textfileDir != null)
          " --metrics-textfile ${cfg.ingest.textfileDir}/mediapipe-${escapePath library}.prom";
      SuccessExitStatus = 17;
      ReadWritePaths = [ cfg.mediaLocation ]
        ++ optionals (cfg.ingest.textfileDir != null) [ cfg.ingest.textfileDir ];
      Nice = 10;
      IOSchedulingClass = "idle";
      MemoryHigh = "3G";
      MemoryMax = "4G";
    };
  });

  watchUnit = i: library: nameValuePair "mediapipe-watch-${escapePath library}" (unitBase // {
    description = "mediapipe ingest --watch of ${library}";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = common // {
      Type = "exec";
      ExecStart = "${mediapipe} ingest ${escapeShellArg library} --watch"
        + lib.optionalString (watchPorts != [ ]) " ${metricsArgs (builtins.elemAt watchPorts i)}";
      Restart = "on-failure";
      RestartSec = "30s";
      TimeoutStopSec = "5min";
      Nice = 10;
      MemoryHigh = "3G";
      MemoryMax = "4G";
    };
  });
in
{
  options.services.mediapipe = {
    enable = mkEnableOption "mediapipe, thumbnails and browser-friendly video for a photo library";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      description = "The mediapipe package (./package.nix: buildPythonApplication of this source).";
    };

    user = mkOption { type = types.str; default = "mediapipe"; description = "User the services run as."; };
    group = mkOption { type = types.str; default = "mediapipe"; description = "Their group."; };

    mediaLocation = mkOption {
      type = types.path;
      default = "/srv/media";
      description = "The media root (library/, thumbs/, encoded-video/), made 0700 for the mediapipe user: the only place the services write.";
    };

    libraries = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = [ "/mnt/photos" ];
      description = "External libraries ingested in place (read-only to the services); each has its own units, named by systemd-escape --path.";
    };

    settings = mkOption {
      type = types.submodule { freeformType = settingsFormat.type; };
      default = { };
      example = { thumbnails.preview.size = 1440; ffmpeg.accel = "nvenc"; };
      description = "mediapipe's settings (`mediapipe config sample`), written to a JSON file the services read (MEDIAPIPE_CONFIG). Secrets go in secretsFile.";
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { MEDIAPIPE_FFMPEG_ACCEL = "nvenc"; };
      description = "Extra environment of every mediapipe service (MEDIAPIPE_* settings).";
    };

    secretsFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/run/secrets/mediapipe";
      description = "An environment file read by every service, for what must not be in the store: MEDIAPIPE_BROKER_URL=redis://:password@host:6379/0 for a remote broker.";
    };

    accel = mkOption {
      type = types.enum [ "disabled" "nvenc" "qsv" "vaapi" "rkmpp" ];
      default = "disabled";
      description = "ffmpeg.accel (mediapipe.transcode.chain.ACCEL_NAMES): each falls back to software decoding, then to software.";
    };

    accelerationDevices = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = [ ];
      example = [ "/dev/nvidiactl" "/dev/nvidia0" "/dev/nvidia-uvm" "/dev/nvidia-uvm-tools" "/dev/nvidia-modeset" "char-nvidia-caps" ];
      description = "Devices the GPU workers (gpu = true) may open; null: every device.";
    };

    redis = {
      enable = mkOption { type = types.bool; default = true; description = "Run a local Redis (AOF on) on a unix socket as the broker."; };
    };

    metricsAddress = mkOption {
      type = types.str;
      default = if cfg.openFirewall then "0.0.0.0" else "127.0.0.1";
      description = "Address the metrics ports bind: this machine only unless openFirewall.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open every metrics port (the workers' and each watch's) for a Prometheus on another machine.";
    };

    workers = mkOption {
      default = { all = { }; };
      description = "Workers by name, each serving a set of queues.";
      type = types.attrsOf (types.submodule {
        options = {
          queues = mkOption {
            type = types.listOf (types.enum [ "metadata" "thumbnails" "video" ]);
            default = [ "metadata" "thumbnails" "video" ];
            description = "Queues this worker serves; a GPU machine serves video.";
          };
          gpu = mkOption { type = types.bool; default = false; description = "Let the worker open accelerationDevices (NVENC/NVDEC)."; };
          concurrency = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Processes (default: CPU count; NVENC sessions for video alone)."; };
          metricsPort = mkOption { type = types.nullOr types.port; default = null; example = 19101; description = "Serve Prometheus metrics on this port."; };
        };
      });
    };

    ingest = {
      timer = mkOption {
        type = types.nullOr types.str;
        default = "*-*-* 03:00:00";
        description = "When each library is ingested (systemd OnCalendar); null: no timer.";
      };
      watch = mkOption { type = types.bool; default = false; description = "Follow each library as it changes (ingest --watch services)."; };
      metricsPort = mkOption { type = types.nullOr types.port; default = 19110; description = "Metrics port of the first library's --watch service; the next ones count up."; };
      textfileDir = mkOption {
        type = types.nullOr types.path;
        default = "/var/lib/prometheus-node-exporter-text-files";
        description = "node_exporter textfile folder the timer runs write their metrics to.";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [{
      assertion = lib.unique allPorts == allPorts;
      message = "services.mediapipe: every metrics port must differ (workers: ${toString workerPorts}; watches: ${toString watchPorts})";
    }];

    users.users.${cfg.user} = {
      isSystemUser = true;
      group = cfg.group;
      extraGroups = [ "video" "render" ] ++ optionals cfg.redis.enable [ config.services.redis.servers.mediapipe.user ];
    };
    users.groups.${cfg.group} = { };

    services.redis.servers.mediapipe = mkIf cfg.redis.enable {
      enable = true;
      port = 0; # the unix socket only, no TCP
      unixSocketPerm = 660;
      appendOnly = true;
      settings.appendfsync = "everysec";
    };

    systemd.tmpfiles.rules = [ "d ${cfg.mediaLocation} 0700 ${cfg.user} ${cfg.group} -" ]
      ++ optionals (cfg.ingest.textfileDir != null) [ "d ${cfg.ingest.textfileDir} 0755 ${cfg.user} ${cfg.group} -" ];

    systemd.services = mkMerge [
      (listToAttrs (lib.mapAttrsToList workerUnit cfg.workers))
      (listToAttrs (map ingestUnit cfg.libraries))
      (mkIf cfg.ingest.watch (listToAttrs (lib.imap0 watchUnit cfg.libraries)))
    ];

    systemd.timers = mkIf (cfg.ingest.timer != null) (listToAttrs (map (library:
      nameValuePair "mediapipe-ingest-${escapePath library}" {
        wantedBy = [ "timers.target" ];
        timerConfig = { OnCalendar = cfg.ingest.timer; RandomizedDelaySec = "15min"; Persistent = true; };
      }) cfg.libraries));

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall allPorts;
  };
}
