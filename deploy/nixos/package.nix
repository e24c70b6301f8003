# mediapipe as a Nix package: `pkgs.callPackage ./package.nix { }` (the module's default).
# buildPythonApplication of this source tree, with the two dependencies nixpkgs lacks built
# here from their release wheels (simplejpeg: libjpeg-turbo's codec; tzfpy: the time-zone
# index, Rust): their hashes are those of the wheels of the versions named. OpenCV is nixpkgs'
# opencv4 (the same cv2 the opencv-python-headless wheel brings). x86_64-linux, on CPython 3.12
# (python312Packages: simplejpeg's wheel is a 3.12 build; tzfpy's is abi3). The compiled
# resampler (mediapipe/thumbnails/_polyphase.c) is built by stdenv's compiler as setuptools
# builds the package; the import check fails the build where it was not.
{ lib
, stdenv
, fetchPypi
, autoPatchelfHook
, python312Packages
, ffmpeg-headless
, exiftool
, src ? ../..
}:

let
  py = python312Packages; # the interpreter simplejpeg's wheel was built for

  simplejpeg = py.buildPythonPackage rec {
    pname = "simplejpeg";
    version = "1.9.0";
    format = "wheel";
    src = fetchPypi {
      inherit pname version format;
      dist = "cp312";
      python = "cp312";
      abi = "cp312";
      platform = "manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64";
      hash = "sha256-W+HIky9D+ZtsxS+KxMKOOsGaGoMDUe/bFZcV/Wg+IFM=";
    };
    nativeBuildInputs = [ autoPatchelfHook ];
    buildInputs = [ stdenv.cc.cc.lib ];
    dependencies = [ py.numpy ];
    pythonImportsCheck = [ "simplejpeg" ];
    meta = { description = "JPEG encoding and decoding with libjpeg-turbo"; license = lib.licenses.mit; };
  };

  tzfpy = py.buildPythonPackage rec {
    pname = "tzfpy";
    version = "2.1.1";
    format = "wheel";
    src = fetchPypi {
      inherit pname version format;
      dist = "cp310";
      python = "cp310";
      abi = "abi3";
      platform = "manylinux_2_17_x86_64.manylinux2014_x86_64";
      hash = "sha256-z5gR0/n3GIMEYFrspkTyPgJ82/mekJp4o+DSMaxFK98=";
    };
    nativeBuildInputs = [ autoPatchelfHook ];
    buildInputs = [ stdenv.cc.cc.lib ];
    pythonImportsCheck = [ "tzfpy" ];
    meta = { description = "Time zone of a coordinate, offline"; license = lib.licenses.mit; };
  };
in
py.buildPythonApplication {
  pname = "homelib-mediapipe";
  version = "0.1.0";
  pyproject = true;
  inherit src;

  build-system = [ py.setuptools ];
  # nixpkgs' opencv4 provides cv2 under another distribution name.
  pythonRemoveDeps = [ "opencv-python-headless" ];
  pythonRelaxDeps = true;

  dependencies = (with py; [
    av pillow pillow-heif pillow-jxl-plugin rawpy numpy opencv4 celery kombu redis click rich
    prometheus-client watchfiles cronsim pyyaml
  ]) ++ [ simplejpeg tzfpy ];

  # ffmpeg, ffprobe and exiftool are run by name.
  makeWrapperArgs = [ "--prefix" "PATH" ":" (lib.makeBinPath [ ffmpeg-headless exiftool ]) ];

  pythonImportsCheck = [ "mediapipe" "mediapipe.workers" "mediapipe.thumbnails._polyphase" ];
  doCheck = false; # the tests need redis-server, real media and more: `make test` runs them

  meta = {
    description = "Media-processing pipeline for self-hosted photo and video libraries";
    homepage = "https://github.com/homelib/mediapipe";
    license = lib.licenses.agpl3Plus;
    mainProgram = "mediapipe";
    platforms = [ "x86_64-linux" ];
  };
}
